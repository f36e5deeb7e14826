"""The event feed over HTTP: SSE delivers changes at once, long-polls wake at once, readers resume."""

from __future__ import annotations

import json
import queue
import statistics
import threading
import time
from collections.abc import Iterator

import httpx

from taskmill.core.model import TaskRecord, new_id
from taskmill.core.states import TaskStatus
from taskmill.store.http import HttpTaskStore
from tests.server.harness import Served


class SseReader:
    """Reads an SSE stream in a thread; each event arrives on ``events`` with its arrival time."""

    def __init__(self, url: str, key: str, headers: dict[str, str] | None = None) -> None:
        self.events: queue.Queue[tuple[float, dict[str, object]]] = queue.Queue()
        self.connected = threading.Event()
        self._stop = False
        self._client = httpx.Client(headers={"Authorization": f"Bearer {key}", **(headers or {})}, timeout=30)
        self._thread = threading.Thread(target=self._run, args=(url,), daemon=True)
        self._thread.start()
        assert self.connected.wait(5), "SSE stream did not connect"

    def _run(self, url: str) -> None:
        try:
            with self._client.stream("GET", url) as response:
                assert response.status_code == 200
                assert response.headers["content-type"].startswith("text/event-stream")
                for line in response.iter_lines():
                    if line.startswith(": connected"):
                        self.connected.set()
                    elif line.startswith("data: "):
                        self.events.put((time.perf_counter(), json.loads(line[6:])))
                    if self._stop:
                        return
        except httpx.HTTPError:
            return

    def next(self, timeout: float = 5.0) -> tuple[float, dict[str, object]]:
        return self.events.get(timeout=timeout)

    def close(self) -> None:
        self._stop = True
        self._client.close()


def _statuses(reader: SseReader, remote: HttpTaskStore, writer: object, n: int) -> Iterator[float]:
    for _ in range(n):
        task = remote.create_task(TaskRecord(id=new_id(), name="t", project="p"))
        while reader.next()[1]["kind"] != "task.created":
            pass
        started = time.perf_counter()
        writer.set_status(task.id, TaskStatus.in_progress)  # type: ignore[attr-defined]
        arrived, event = reader.next()
        assert event["kind"] == "task.status" and event["task_id"] == task.id
        data = dict(event["data"])  # type: ignore[call-overload]
        data.pop("by", None)  # the audit field: the writer's key name, when it has one
        assert data == {"status": "in_progress", "previous": "created", "parent": None}
        yield arrived - started


def test_sse_delivers_status_changes_within_100ms(server: Served, key: str, remote: HttpTaskStore) -> None:
    reader = SseReader(server.url + "/api/v1/events/stream", key)
    try:
        through_server = list(_statuses(reader, remote, remote, 10))
        # A writer that bypasses the server (an agent on the database URL) is seen by the watcher.
        direct = list(_statuses(reader, remote, server.store, 5))
    finally:
        reader.close()
    print(
        f"SSE latency: through the server median {statistics.median(through_server) * 1000:.1f} ms, "
        f"direct database writer median {statistics.median(direct) * 1000:.1f} ms"
    )
    assert statistics.median(through_server) < 0.1 and max(through_server) < 0.3
    assert statistics.median(direct) < 0.15


def test_sse_resumes_after_last_event_id(server: Served, key: str, remote: HttpTaskStore) -> None:
    first = remote.create_task(TaskRecord(id=new_id(), name="a", project="p"))
    mark = remote.last_event_id()
    second = remote.create_task(TaskRecord(id=new_id(), name="b", project="p"))
    reader = SseReader(
        server.url + "/api/v1/events/stream?after=0", key, headers={"Last-Event-ID": str(mark)}
    )
    try:
        _, event = reader.next()
        assert event["task_id"] == second.id and event["id"] == mark + 1
    finally:
        reader.close()
    assert first.id != second.id


def test_long_poll_wakes_at_once_and_times_out_empty(api: httpx.Client, remote: HttpTaskStore) -> None:
    task = remote.create_task(TaskRecord(id=new_id(), name="t", project="p"))
    after = remote.last_event_id()
    started = time.perf_counter()
    assert api.get("/events", params={"after": after, "wait": 0.3}).json() == []
    assert 0.25 < time.perf_counter() - started < 2.0

    def change() -> None:
        time.sleep(0.2)
        remote.set_status(task.id, TaskStatus.in_progress)

    thread = threading.Thread(target=change)
    started = time.perf_counter()
    thread.start()
    events = remote.wait_events(after, timeout=10, task_id=task.id)
    waited = time.perf_counter() - started
    thread.join()
    assert [e.kind for e in events] == ["task.status"]
    assert 0.15 < waited < 0.5, waited


def test_many_waiters_cost_no_threads(server: Served, key: str, remote: HttpTaskStore) -> None:
    # 60 concurrent long-polls (more than the server's worker threads) all wake on one change.
    after = remote.last_event_id()
    results: list[int] = []
    lock = threading.Lock()

    def wait() -> None:
        with httpx.Client(headers={"Authorization": f"Bearer {key}"}) as c:
            r = c.get(server.url + "/api/v1/events", params={"after": after, "wait": 10}, timeout=20)
        with lock:
            results.append(len(r.json()))

    threads = [threading.Thread(target=wait) for _ in range(60)]
    for th in threads:
        th.start()
    time.sleep(0.5)
    started = time.perf_counter()
    remote.create_queue("wake-up")
    for th in threads:
        th.join()
    assert results == [1] * 60
    assert time.perf_counter() - started < 3.0
