"""The ``dask`` launcher: each step as a process started by a Dask worker (``taskmill[dask]``).

``dask@tcp://scheduler:8786`` connects to an existing cluster; plain ``dask`` starts a local one
(``LocalCluster(processes=True, n_workers=2)``, sized so the run's ``max_parallel`` steps can
run at once) and shuts it down with the run.

A step is one Dask task that runs the step process
(``python -m taskmill.engine.step_entry <target> <task id>``, see
:mod:`taskmill.engine.step_entry`) on a worker and returns its exit code. Everything else comes
from :class:`~taskmill.engine.launcher_api.TrackedLauncher`: a step whose process or worker died
without recording an end is failed with what happened. Abort sets a Dask ``Event`` the worker
watches (it kills the step's process group) and cancels a task that has not started.

A step's ``resources`` (``{"cpu": 4, "memory": "16Gi", "gpu": 1}``, see
:mod:`taskmill.core.resources`) become Dask resources ``CPU``, ``MEMORY`` (bytes) and ``GPU``
on its task. Dask runs such a task only on a worker that declares the resource
(``dask worker --resources "GPU=2"``), so only the names some worker of the cluster declares
are passed; the others are left out, and said so once. The local cluster declares none: there a
request is recorded and shown, and steps share the machine as the process launcher's do.

Workers must reach the store and the artifacts: the embedded SQLite store is single-machine, so
a remote cluster with it is refused when the run starts.
"""

from __future__ import annotations

import contextlib
import importlib
import math
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from taskmill.core.resources import DASK_NAMES, dask_resources, parse_resources
from taskmill.engine.launcher_api import (
    LauncherContext,
    LaunchRequest,
    TrackedLauncher,
    exit_reason,
    is_local_address,
)
from taskmill.engine.step_entry import run_step_process
from taskmill.errors import ExecutionError

#: workers of a local cluster (``LocalCluster(processes=True, n_workers=2)``)
LOCAL_WORKERS = 2


def distributed() -> Any:
    """The ``distributed`` module (typed loosely: it is an optional dependency without full
    annotations). ExecutionError naming the extra when it is not installed."""
    try:
        return importlib.import_module("distributed")
    except ImportError as exc:
        raise ExecutionError("the 'dask' launcher needs Dask: pip install 'taskmill[dask]'") from exc


def abort_event_name(task_id: str) -> str:
    """The Dask ``Event`` that tells the worker running ``task_id`` to kill it."""
    return f"taskmill-abort-{task_id}"


def run_on_worker(argv: Sequence[str], env: Mapping[str, str], cwd: str | None, task_id: str) -> int:
    """What a Dask worker runs for one step: the step process, until it exits or is aborted.
    Blocking; returns its exit code (negative: killed by that signal)."""
    event = distributed().Event(abort_event_name(task_id))
    return run_step_process(argv, env, cwd=cwd, should_stop=event.is_set, poll=0.25)


class DaskLauncher(TrackedLauncher):
    """Steps as Dask tasks (see the module docstring)."""

    def __init__(self, ctx: LauncherContext) -> None:
        super().__init__(ctx.store)
        self._ctx = ctx
        self._client: Any = None
        self._cluster: LocalClusterProcess | None = None
        self._futures: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._declared: set[str] = set()  #: resource names the cluster's workers declare
        self._told: set[str] = set()  #: names already said to be left out

    def start(self) -> None:
        """Connect to the cluster, or start a local one. Blocking (seconds). Idempotent."""
        if self._client is not None:
            return
        dd = distributed()
        address = self._ctx.address
        if address is not None and not is_local_address(address):
            self._ctx.refuse_single_machine_store(f"the Dask cluster at {address}")
        if address is None:
            threads = max(1, math.ceil(self._ctx.max_parallel / LOCAL_WORKERS))
            self._cluster = LocalClusterProcess(LOCAL_WORKERS, threads)
            address = self._cluster.address
        self._client = dd.Client(address)
        self._ctx.console(f"Dask launcher: {self._client.scheduler.address} ({len(self.workers())} workers)")

    def workers(self) -> list[str]:
        """The addresses of the cluster's workers (blocking for a scheduler round trip)."""
        if self._client is None:
            return []
        return list(self._client.scheduler_info()["workers"])

    def submit(self, request: LaunchRequest) -> None:
        if self._client is None:
            self.start()
        task_id = request.task_id
        asked = self._asked(request)
        future = self._client.submit(
            run_on_worker,
            self._ctx.step_argv(request),
            self._ctx.step_env(),
            self._ctx.cwd,
            task_id,
            key=f"taskmill-step-{task_id}",
            pure=False,
            resources=asked or None,
        )
        with self._lock:
            self._futures[task_id] = future
        future.add_done_callback(lambda f: self._finished(task_id, f))

    def _asked(self, request: LaunchRequest) -> dict[str, float]:
        """The step's Dask resources, limited to the names the cluster's workers declare."""
        wanted = dask_resources(parse_resources(request.node.spec.resources))
        if not wanted:
            return {}
        if not set(wanted) <= self._declared:  # workers may have joined since: ask again
            for worker in self._client.scheduler_info()["workers"].values():
                self._declared.update(worker.get("resources") or {})
        left_out = sorted(set(wanted) - self._declared - self._told)
        if left_out:
            self._told.update(left_out)
            names = {v: k for k, v in DASK_NAMES.items()}
            self._ctx.console(
                f"Dask launcher: no worker declares {', '.join(left_out)}; steps' "
                f"{', '.join(names[n] for n in left_out)} requests are recorded, not passed to Dask"
            )
        return {name: amount for name, amount in wanted.items() if name in self._declared}

    def _finished(self, task_id: str, future: Any) -> None:
        with self._lock:
            self._futures.pop(task_id, None)
        if future.cancelled():
            why = "dask task cancelled"
        elif future.status == "error":
            why = f"dask task failed: {future.exception()!r}"
        else:
            why = exit_reason(int(future.result()))
        self.ended(task_id, why)

    def cancel(self, task_id: str) -> None:
        with self._lock:
            future = self._futures.get(task_id)
        if future is None or self._client is None:
            return
        distributed().Event(abort_event_name(task_id), client=self._client).set()
        future.cancel()  # a task still waiting for a worker never starts

    def close(self) -> None:
        """Kill steps still running, wait briefly for their workers to report, and disconnect
        (shutting down a local cluster). Blocking (seconds). Idempotent."""
        client, cluster = self._client, self._cluster
        with self._lock:
            futures = dict(self._futures)
        if client is not None and futures:
            dd = distributed()
            for task_id in futures:
                dd.Event(abort_event_name(task_id), client=client).set()
            dd.wait(list(futures.values()), timeout=10)  # each worker kills its step's process group
        self._client = self._cluster = None
        for task_id in self.running():
            self.ended(task_id, "dask launcher closed")
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()


class LocalClusterProcess:
    """A ``LocalCluster(processes=True)`` in a helper process of its own. Blocking until it
    serves; it shuts down when :meth:`close` is called or this process dies (its stdin closes).

    Not in this process: Dask spawns worker processes, and a spawned process re-runs the
    parent's ``__main__`` (a pipeline script without an ``if __name__ == "__main__"`` guard
    would start its pipeline again in every worker). The helper's ``__main__`` is this module.
    """

    def __init__(self, n_workers: int, threads_per_worker: int, *, timeout: float = 120) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", __name__, str(n_workers), str(threads_per_worker)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._proc.stdout is not None  # a pipe, asked for above
        line = self._proc.stdout.readline().strip()  # the helper prints the address once it serves
        if not line.startswith(("tcp://", "inproc://")):
            self.close()
            raise ExecutionError(f"the local Dask cluster did not start (helper said {line!r})")
        self.address = line

    def close(self) -> None:
        """Shut the cluster down (blocking, up to ~20 s). Idempotent."""
        if self._proc.poll() is None:
            with contextlib.suppress(OSError):
                assert self._proc.stdin is not None
                self._proc.stdin.close()
            try:
                self._proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()


def _serve_local_cluster(n_workers: int, threads_per_worker: int) -> None:
    dd = distributed()
    with dd.LocalCluster(
        processes=True,
        n_workers=n_workers,
        threads_per_worker=threads_per_worker,  # a step's thread only waits for its process
        dashboard_address=None,
    ) as cluster:
        sys.stdout.write(f"{cluster.scheduler_address}\n")
        sys.stdout.flush()
        sys.stdin.read()  # until the launcher closes it, or dies


if __name__ == "__main__":
    _serve_local_cluster(int(sys.argv[1]), int(sys.argv[2]))
