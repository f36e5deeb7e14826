"""The HTTP task store: the whole :class:`TaskStore` contract over a ``taskmill server``'s API.

``TASKMILL_STORE=http://host:port`` (with ``TASKMILL_API_KEY``) makes every part of taskmill use
a server instead of a database. Semantics are those of :class:`~taskmill.store.base.TaskStore`,
with these differences:

* **Batches.** Writes inside :meth:`HttpTaskStore.batch` that return nothing (and
  :meth:`create_task`, whose result is known in advance) are held back and sent together in one
  ``POST /batch``, which the server runs in one transaction. An operation that returns a value (a
  read, a status change, a claim) sends the held-back writes *with* it in that same transaction
  and returns its result, so it sees them. The block is therefore atomic up to each such
  operation, not as a whole; if the block raises, writes not yet sent are dropped. Errors of
  held-back writes surface when they are sent (at the next such operation or the block's end).
  Batches are per thread.
* **Availability.** While the server is unreachable (restarting), calls block and retry for up
  to ``retry_for`` seconds, saying so on the log (see :mod:`taskmill.store.http_transport`);
  the default window is ``$TASKMILL_STORE_RETRY``, else 600 s.
* :meth:`wait_events` long-polls the server, which wakes it as soon as an event is written.

Artifact bytes do not go through this class's contract methods; :meth:`upload_artifact_content`
and :meth:`download_artifact_content` stream them through the server for clients that cannot
reach the server's artifact location (:meth:`server_info` tells where that is).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from enum import Enum
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from taskmill.core.model import (
    ArtifactRecord,
    ConfigObject,
    EventRecord,
    LogLine,
    ModelRecord,
    Param,
    PlotRecord,
    ProjectRecord,
    QueueEntry,
    QueueRecord,
    ScalarPoint,
    ScriptInfo,
    TaskRecord,
    WorkerRecord,
    new_id,
)
from taskmill.core.states import TaskStatus
from taskmill.store import api_keys, wire
from taskmill.store.base import ATTEMPT_HEADER, ApiKeyRecord, TaskFilter, TaskStore, check_log_window
from taskmill.store.http_transport import StoreAuthError, Transport, retry_window_from_env
from taskmill.types import JSONValue

__all__ = ["HttpTaskStore", "StoreAuthError"]

#: Longest single long-poll (the server caps ``wait`` at 60 s); longer waits take several.
LONG_POLL_SLICE = 55.0
_CHUNK = 1 << 20
#: A long-poll ending this close to the deadline counts as having waited it out.
_CLOCK_SLACK = 0.02


def _q(segment: str) -> str:
    """A path segment, percent-encoded (``/`` included)."""
    return quote(segment, safe="")


def _jsonable(value: object) -> object:
    if isinstance(value, ScriptInfo):
        return value.to_dict()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    return value


class HttpTaskStore(TaskStore):
    """Task store served by a ``taskmill server`` at ``url`` (``http(s)://host:port``).

    Args:
        url: Base URL of the server.
        api_key: Secret of an API key (``taskmill server create-key``); None for a server
            started with ``--no-auth``.
        timeout: Seconds to wait for one response (long-polls add their own wait).
        retry_for: Seconds to keep retrying while the server is unreachable (None:
            ``$TASKMILL_STORE_RETRY``, else 600).
        transport: The httpx transport requests go through (default: plain HTTP(S)); for
            proxies, mounts and fault injection in tests.
    """

    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        *,
        timeout: float = 30.0,
        retry_for: float | None = None,
        transport: httpx.BaseTransport | None = None,
    ):
        self.url = url.rstrip("/")
        window = retry_window_from_env() if retry_for is None else retry_for
        self._http = Transport(self.url, api_key, timeout=timeout, retry_for=window, transport=transport)
        self._local = threading.local()  # .pending: held-back batch operations of this thread

    # -- plumbing -----------------------------------------------------------------------------

    def _pending(self) -> list[dict[str, Any]] | None:
        pending: list[dict[str, Any]] | None = getattr(self._local, "pending", None)
        return pending

    def _call(
        self,
        op: str,
        method: str,
        path: str,
        *,
        ids: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        query: Mapping[str, Any] | None = None,
        defer: bool = False,
        idempotent: bool = False,
    ) -> Any:
        """Run operation ``op``: ``method path`` directly, or as part of this thread's batch.

        ``ids`` are the path parameters by name (batch arguments need them unencoded).
        ``idempotent``: the request may be repeated after it was sent (whatever its method).
        Returns the decoded JSON result (None for 204).
        """
        pending = self._pending()
        if pending is not None:
            pending.append({"op": op, "args": {**(ids or {}), **(body or {}), **(query or {})}})
            if defer:
                return None
            return self._flush(pending)[-1]
        response = self._http.request(
            method, path, json=body, params=query, idempotent=idempotent, headers=self._fence_header()
        )
        return None if response.status_code == 204 or not response.content else response.json()

    def _flush(self, pending: list[dict[str, Any]]) -> list[Any]:
        ops = list(pending)
        pending.clear()  # sent (or failed and rolled back): either way they are no longer pending
        if not ops:
            return []
        response = self._http.request("POST", "/batch", json={"ops": ops}, headers=self._fence_header())
        results: list[Any] = response.json()["results"]
        return results

    def _fence_header(self) -> dict[str, str] | None:
        fence = self.current_fence()
        return None if fence is None else {ATTEMPT_HEADER: f"{fence[0]}:{fence[1]}"}

    def _flush_pending(self) -> None:
        pending = self._pending()
        if pending:
            self._flush(pending)

    # -- lifecycle --------------------------------------------------------------------------

    def close(self) -> None:
        self._http.close()

    @contextmanager
    def batch(self) -> Iterator[None]:
        if self._pending() is not None:  # nested: join the outer block
            yield
            return
        self._local.pending = []
        try:
            yield
            pending = self._pending()
            if pending:
                self._flush(pending)
        finally:
            self._local.pending = None

    # -- tasks ------------------------------------------------------------------------------

    def create_task(self, task: TaskRecord) -> TaskRecord:
        now = time.time()
        rec = replace(task, created=task.created or now, last_update=now)
        result = self._call("create_task", "POST", "/tasks", body=wire.to_wire(rec), defer=True)
        return rec if result is None else wire.task_from_wire(result)

    def attempt_of(self, task_id: str) -> int:
        return int(self._call("attempt_of", "GET", f"/tasks/{_q(task_id)}/attempt", ids={"task_id": task_id}))

    def get_task(self, task_id: str) -> TaskRecord:
        return wire.task_from_wire(
            self._call("get_task", "GET", f"/tasks/{_q(task_id)}", ids={"task_id": task_id})
        )

    def find_tasks(self, flt: TaskFilter | None = None) -> list[TaskRecord]:
        found = self._call(
            "find_tasks", "POST", "/tasks/query", body=wire.filter_to_wire(flt or TaskFilter())
        )
        return [wire.task_from_wire(t) for t in found]

    def update_task(self, task_id: str, **fields: object) -> TaskRecord:
        body = {k: _jsonable(v) for k, v in fields.items()}
        result = self._call(
            "update_task", "PATCH", f"/tasks/{_q(task_id)}", ids={"task_id": task_id}, body=body
        )
        return wire.task_from_wire(result)

    def set_status(
        self,
        task_id: str,
        status: TaskStatus,
        *,
        message: str | None = None,
        reason: str | None = None,
        force: bool = False,
        expected: Sequence[TaskStatus] = (),
        worker: str | None = None,
    ) -> TaskRecord:
        body = {
            "status": TaskStatus.parse(status).value,
            "message": message,
            "reason": reason,
            "force": force,
            "expected": [TaskStatus.parse(s).value for s in expected],
            "worker": worker,
        }
        path = f"/tasks/{_q(task_id)}/status"
        return wire.task_from_wire(
            self._call("set_status", "POST", path, ids={"task_id": task_id}, body=body)
        )

    def delete_task(self, task_id: str) -> None:
        self._call("delete_task", "DELETE", f"/tasks/{_q(task_id)}", ids={"task_id": task_id}, defer=True)

    # -- parameters and configuration ---------------------------------------------------------

    def set_params(self, task_id: str, params: Iterable[Param], *, replace: bool = False) -> None:
        body = {"params": [wire.to_wire(p) for p in params], "replace": replace}
        path = f"/tasks/{_q(task_id)}/params"
        self._call("set_params", "POST", path, ids={"task_id": task_id}, body=body, defer=True)

    def get_params(self, task_id: str) -> list[Param]:
        found = self._call("get_params", "GET", f"/tasks/{_q(task_id)}/params", ids={"task_id": task_id})
        return [wire.param_from_wire(p) for p in found]

    def delete_params(self, task_id: str, keys: Iterable[tuple[str, str]]) -> None:
        body = {"keys": [[s, n] for s, n in keys]}
        path = f"/tasks/{_q(task_id)}/params/delete"
        self._call("delete_params", "POST", path, ids={"task_id": task_id}, body=body, defer=True)

    def set_config(self, task_id: str, config: ConfigObject) -> None:
        path = f"/tasks/{_q(task_id)}/configs"
        self._call(
            "set_config", "POST", path, ids={"task_id": task_id}, body=wire.to_wire(config), defer=True
        )

    def get_configs(self, task_id: str) -> list[ConfigObject]:
        found = self._call("get_configs", "GET", f"/tasks/{_q(task_id)}/configs", ids={"task_id": task_id})
        return [wire.config_from_wire(c) for c in found]

    # -- outputs ------------------------------------------------------------------------------

    def put_artifact(self, artifact: ArtifactRecord) -> None:
        tid = artifact.task_id
        path = f"/tasks/{_q(tid)}/artifacts"
        self._call(
            "put_artifact", "POST", path, ids={"task_id": tid}, body=wire.to_wire(artifact), defer=True
        )

    def get_artifacts(self, task_id: str) -> list[ArtifactRecord]:
        found = self._call(
            "get_artifacts", "GET", f"/tasks/{_q(task_id)}/artifacts", ids={"task_id": task_id}
        )
        return [wire.artifact_from_wire(a) for a in found]

    def delete_artifact(self, task_id: str, name: str) -> None:
        path = f"/tasks/{_q(task_id)}/artifacts/{_q(name)}"
        self._call("delete_artifact", "DELETE", path, ids={"task_id": task_id, "name": name}, defer=True)

    def add_model(self, model: ModelRecord) -> None:
        tid = model.task_id
        path = f"/tasks/{_q(tid)}/models"
        self._call("add_model", "POST", path, ids={"task_id": tid}, body=wire.to_wire(model), defer=True)

    def get_models(self, task_id: str) -> list[ModelRecord]:
        found = self._call("get_models", "GET", f"/tasks/{_q(task_id)}/models", ids={"task_id": task_id})
        return [wire.model_from_wire(m) for m in found]

    def move_model(self, model_id: str, task_id: str, *, name: str | None = None) -> ModelRecord:
        path = f"/models/{_q(model_id)}/move"
        body = {"task_id": task_id, "name": name}
        found = self._call("move_model", "POST", path, ids={"model_id": model_id}, body=body, idempotent=True)
        return wire.model_from_wire(found)

    def add_scalars(self, task_id: str, points: Sequence[ScalarPoint]) -> None:
        body = {"points": [wire.to_wire(p) for p in points]}
        path = f"/tasks/{_q(task_id)}/scalars"
        self._call("add_scalars", "POST", path, ids={"task_id": task_id}, body=body, defer=True)

    def get_scalars(self, task_id: str) -> list[ScalarPoint]:
        found = self._call("get_scalars", "GET", f"/tasks/{_q(task_id)}/scalars", ids={"task_id": task_id})
        return [wire.scalar_from_wire(p) for p in found]

    def add_plot(self, task_id: str, plot: PlotRecord) -> None:
        path = f"/tasks/{_q(task_id)}/plots"
        self._call("add_plot", "POST", path, ids={"task_id": task_id}, body=wire.to_wire(plot), defer=True)

    def get_plots(self, task_id: str) -> list[PlotRecord]:
        found = self._call("get_plots", "GET", f"/tasks/{_q(task_id)}/plots", ids={"task_id": task_id})
        return [wire.plot_from_wire(p) for p in found]

    def append_log(self, task_id: str, lines: Sequence[LogLine]) -> int:
        body = {"lines": [wire.to_wire(ln) for ln in lines]}
        result = self._call(
            "append_log", "POST", f"/tasks/{_q(task_id)}/log", ids={"task_id": task_id}, body=body
        )
        return int(result["last_seq"])

    def get_log(
        self, task_id: str, *, after: int = 0, limit: int | None = None, tail: int | None = None
    ) -> list[LogLine]:
        check_log_window(limit, tail)
        path = f"/tasks/{_q(task_id)}/log"
        query = {"after": after, "limit": limit, "tail": tail}
        found = self._call("get_log", "GET", path, ids={"task_id": task_id}, query=query)
        return [wire.log_from_wire(ln) for ln in found]

    # -- pipelines --------------------------------------------------------------------------

    def put_nodes(self, run_id: str, nodes: Sequence[tuple[str, dict[str, JSONValue]]]) -> None:
        if not nodes:
            return
        body = {"nodes": [{"name": name, "data": data} for name, data in nodes]}
        self._call(
            "put_nodes", "POST", f"/tasks/{_q(run_id)}/nodes", ids={"task_id": run_id}, body=body, defer=True
        )

    def get_nodes(self, run_id: str) -> list[tuple[str, dict[str, JSONValue]]]:
        found = self._call("get_nodes", "GET", f"/tasks/{_q(run_id)}/nodes", ids={"task_id": run_id})
        return [(n["name"], n["data"]) for n in found]

    def find_by_cache_key(self, key: str) -> list[TaskRecord]:
        if not key:
            return []
        found = self._call("find_by_cache_key", "GET", "/cache/tasks", query={"key": key})
        return [wire.task_from_wire(t) for t in found]

    # -- projects ---------------------------------------------------------------------------

    def ensure_project(self, name: str, system_tags: Sequence[str] = ()) -> ProjectRecord:
        body = {"name": name, "system_tags": list(system_tags)}
        return wire.project_from_wire(self._call("ensure_project", "POST", "/projects", body=body))

    def list_projects(self, *, include_hidden: bool = False) -> list[ProjectRecord]:
        found = self._call("list_projects", "GET", "/projects", query={"include_hidden": include_hidden})
        return [wire.project_from_wire(p) for p in found]

    # -- queues -----------------------------------------------------------------------------

    def create_queue(self, name: str) -> QueueRecord:
        return wire.queue_from_wire(self._call("create_queue", "POST", "/queues", body={"name": name}))

    def get_queue(self, name: str) -> QueueRecord:
        return wire.queue_from_wire(self._call("get_queue", "GET", f"/queues/{_q(name)}", ids={"name": name}))

    def list_queues(self) -> list[QueueRecord]:
        return [wire.queue_from_wire(q) for q in self._call("list_queues", "GET", "/queues")]

    def delete_queue(self, name: str, *, force: bool = False) -> None:
        path = f"/queues/{_q(name)}"
        self._call("delete_queue", "DELETE", path, ids={"name": name}, query={"force": force}, defer=True)

    def enqueue(self, task_id: str, queue: str, *, priority: int = 0) -> TaskRecord:
        body = {"task_id": task_id, "priority": priority}
        result = self._call("enqueue", "POST", f"/queues/{_q(queue)}/enqueue", ids={"name": queue}, body=body)
        return wire.task_from_wire(result)

    def dequeue(self, task_id: str) -> TaskRecord:
        result = self._call("dequeue", "POST", f"/tasks/{_q(task_id)}/dequeue", ids={"task_id": task_id})
        return wire.task_from_wire(result)

    def queue_entries(self, queue: str) -> list[QueueEntry]:
        found = self._call("queue_entries", "GET", f"/queues/{_q(queue)}/entries", ids={"name": queue})
        return [wire.entry_from_wire(e) for e in found]

    def claim(
        self, queues: Sequence[str], worker: str, *, request_id: str | None = None
    ) -> TaskRecord | None:
        # Every claim carries a request id, so the transport may repeat it when the answer was
        # lost (the server committed, then the connection broke): the repeat gets the same task.
        body = {"queues": list(queues), "worker": worker, "request_id": request_id or new_id()}
        result = self._call("claim", "POST", "/queues/claim", body=body, idempotent=True)
        return None if result["task"] is None else wire.task_from_wire(result["task"])

    # -- agents -------------------------------------------------------------------------------

    def register_worker(
        self, worker_id: str, queues: Sequence[str], info: dict[str, JSONValue]
    ) -> WorkerRecord:
        body = {"id": worker_id, "queues": list(queues), "info": info}
        return wire.worker_from_wire(self._call("register_worker", "POST", "/workers", body=body))

    def heartbeat(self, worker_id: str, task_id: str | None = None) -> None:
        path = f"/workers/{_q(worker_id)}/heartbeat"
        self._call(
            "heartbeat", "POST", path, ids={"worker_id": worker_id}, body={"task_id": task_id}, defer=True
        )

    def list_workers(self) -> list[WorkerRecord]:
        return [wire.worker_from_wire(w) for w in self._call("list_workers", "GET", "/workers")]

    def unregister_worker(self, worker_id: str) -> None:
        path = f"/workers/{_q(worker_id)}"
        self._call("unregister_worker", "DELETE", path, ids={"worker_id": worker_id}, defer=True)

    # -- events -------------------------------------------------------------------------------

    def events_since(
        self, after: int = 0, *, limit: int = 1000, task_id: str | None = None
    ) -> list[EventRecord]:
        return self._events(after, limit, task_id, 0.0)

    def last_event_id(self) -> int:
        return int(self._call("last_event_id", "GET", "/events/last")["id"])

    def wait_events(
        self, after: int, timeout: float, *, task_id: str | None = None, limit: int = 1000
    ) -> list[EventRecord]:
        """Long-poll the server: returns as soon as it has events newer than ``after``.

        A poll that ends early with nothing (the server stopping for a restart) is simply
        repeated until ``timeout`` has passed.
        """
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            found = self._events(after, limit, task_id, max(0.0, min(remaining, LONG_POLL_SLICE)))
            if found or deadline - time.monotonic() <= _CLOCK_SLACK:
                return found

    def _events(self, after: int, limit: int, task_id: str | None, wait: float) -> list[EventRecord]:
        self._flush_pending()  # the long-poll is not a batch operation: send held-back writes first
        query = {"after": after, "limit": limit, "task_id": task_id, "wait": wait}
        response = self._http.request("GET", "/events", params=query, timeout=wait + 30.0)
        return [wire.event_from_wire(e) for e in response.json()]

    # -- API keys -----------------------------------------------------------------------------

    def create_api_key(self, name: str = "", *, role: str | None = None) -> tuple[str, str]:
        body = {"name": name} if role is None else {"name": name, "role": api_keys.check_role(role)}
        result = self._call("create_api_key", "POST", "/keys", body=body)
        return str(result["id"]), str(result["secret"])

    def list_api_keys(self) -> list[ApiKeyRecord]:
        return [wire.api_key_from_wire(k) for k in self._call("list_api_keys", "GET", "/keys")]

    def revoke_api_key(self, key_id: str) -> None:
        self._call("revoke_api_key", "DELETE", f"/keys/{_q(key_id)}", ids={"key_id": key_id}, defer=True)

    def find_api_key(self, secret: str) -> ApiKeyRecord | None:
        result = self._call("find_api_key", "POST", "/keys/lookup", body={"secret": secret})
        return None if result["key"] is None else wire.api_key_from_wire(result["key"])

    # -- beyond the contract: the server itself and artifact bytes ------------------------------

    def server_info(self) -> dict[str, Any]:
        """``{"version", "api", "artifacts_uri", "auth"}`` of the server (``artifacts_uri`` is where
        artifacts written through the server go; a client that can reach it may write there itself)."""
        info: dict[str, Any] = self._http.request("GET", "/info").json()
        return info

    def upload_artifact_content(
        self, task_id: str, name: str, path: str | Path, *, filename: str | None = None
    ) -> tuple[str, int, str]:
        """Stream the file at ``path`` to the server as artifact ``name``'s bytes, in chunks.

        Returns ``(uri, size, hash)`` of the stored bytes; record the artifact afterwards with
        :meth:`put_artifact` (that record is what readers look up). Not retried: uploads are
        large; call again after a StoreConnectionError (an upload replaces the file atomically).
        """
        source = Path(path)

        def chunks() -> Iterator[bytes]:
            with open(source, "rb") as fh:
                while block := fh.read(_CHUNK):
                    yield block

        route = f"/tasks/{_q(task_id)}/artifacts/{_q(name)}/content"
        params = {"filename": filename or source.name}
        headers = {"Content-Type": "application/octet-stream"}
        with self._http.stream("PUT", route, content=chunks(), params=params, headers=headers) as response:
            response.read()
            result = response.json()
        return str(result["uri"]), int(result["size"]), str(result["hash"])

    def download_artifact_content(self, task_id: str, name: str, dest: str | Path) -> Path:
        """Stream artifact ``name``'s bytes from the server into the file ``dest`` (in chunks).

        The file appears whole or not at all (written next to it, then renamed). Returns ``dest``.
        """
        target = Path(dest)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.part")
        route = f"/tasks/{_q(task_id)}/artifacts/{_q(name)}/content"
        try:
            with self._http.stream("GET", route) as response, open(tmp, "wb") as fh:
                for block in response.iter_bytes(_CHUNK):
                    fh.write(block)
            tmp.replace(target)
        finally:
            tmp.unlink(missing_ok=True)
        return target
