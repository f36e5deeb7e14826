"""HTTP store figures on loopback (prints numbers; asserts nothing).

A real ``taskmill server`` process (auth on) over a fresh SQLite store (or ``--pg URL``), and the
HTTP store as its client:

* median / p95 latency of ``get_task`` and ``claim`` over HTTP (and directly on the database,
  for comparison);
* event latency: from a status change to its arrival on an SSE stream, and to the return of a
  waiting ``wait_events`` long-poll.

Usage: python bench/bench_server.py [--n 500] [--pg postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from taskmill.core.model import TaskRecord, new_id
from taskmill.core.states import TaskStatus
from taskmill.server import free_port
from taskmill.store.base import TaskStore
from taskmill.store.factory import open_store

TASKMILL = str(Path(sys.executable).parent / "taskmill")


def timed(fn: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return (
        f"median {statistics.median(samples) * 1000:6.2f} ms   p95 {p95 * 1000:6.2f} ms   (n={len(samples)})"
    )


def store_figures(store: TaskStore, n: int, label: str) -> None:
    task = store.create_task(TaskRecord(id=new_id(), name="bench", project="bench"))
    store.get_task(task.id)  # warm up the connection
    print(f"  {label:<6} get_task  {summary(timed(lambda: store.get_task(task.id), n))}")
    queue_name = f"bench-{new_id()[:6]}"
    store.create_queue(queue_name)
    with store.batch():
        for _ in range(n):
            t = store.create_task(TaskRecord(id=new_id(), name="q", project="bench"))
            store.enqueue(t.id, queue_name)
    print(f"  {label:<6} claim     {summary(timed(lambda: store.claim([queue_name], 'bench'), n))}")


def sse_latency(url: str, key: str, store: TaskStore, n: int) -> list[float]:
    arrivals: queue.Queue[tuple[float, dict[str, object]]] = queue.Queue()
    connected = threading.Event()
    client = httpx.Client(headers={"Authorization": f"Bearer {key}"}, timeout=30)

    def read() -> None:
        try:
            with client.stream("GET", url + "/api/v1/events/stream") as response:
                for line in response.iter_lines():
                    if line.startswith(": connected"):
                        connected.set()
                    elif line.startswith("data: "):
                        arrivals.put((time.perf_counter(), json.loads(line[6:])))
        except httpx.HTTPError:
            return

    threading.Thread(target=read, daemon=True).start()
    connected.wait(5)
    samples = []
    for _ in range(n):
        task = store.create_task(TaskRecord(id=new_id(), name="ev", project="bench"))
        while arrivals.get(timeout=5)[1]["task_id"] != task.id:
            pass
        start = time.perf_counter()
        store.set_status(task.id, TaskStatus.in_progress)
        arrived, event = arrivals.get(timeout=5)
        assert event["kind"] == "task.status"
        samples.append(arrived - start)
    client.close()
    return samples


def _wait_and_stamp(waiter: TaskStore, after: int, done: list[float]) -> None:
    waiter.wait_events(after, 10)
    done.append(time.perf_counter())


def long_poll_latency(store: TaskStore, waiter: TaskStore, n: int) -> list[float]:
    samples = []
    for _ in range(n):
        task = store.create_task(TaskRecord(id=new_id(), name="lp", project="bench"))
        done: list[float] = []
        thread = threading.Thread(target=_wait_and_stamp, args=(waiter, store.last_event_id(), done))
        thread.start()
        time.sleep(0.02)  # let the long-poll reach the server
        start = time.perf_counter()
        store.set_status(task.id, TaskStatus.in_progress)
        thread.join()
        samples.append(done[0] - start)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=500, help="requests per figure")
    parser.add_argument(
        "--pg", metavar="URL", help="serve this (empty) PostgreSQL database instead of SQLite"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        backing = args.pg or f"sqlite:///{tmp}/store.db"
        direct = open_store(backing)
        key = direct.create_api_key("bench")[1]
        port = free_port()
        env = {**os.environ, "TASKMILL_HOME": tmp}
        cmd = [TASKMILL, "server", "--port", str(port), "--store", backing, "--artifacts", f"{tmp}/art"]
        server = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 20
            while True:
                try:
                    httpx.get(url + "/api/v1/health").raise_for_status()
                    break
                except httpx.HTTPError:
                    if time.monotonic() > deadline:
                        raise SystemExit("the server did not start") from None
                    time.sleep(0.05)
            remote = open_store(url, key)
            kind = backing.split(":", 1)[0].split("+")[0]
            print(f"taskmill server on loopback over {kind} (separate process, auth on), n={args.n}:")
            store_figures(remote, args.n, "http")
            store_figures(direct, args.n, kind[:6])
            print("  event latency (status change -> client sees it):")
            print(f"    SSE stream          {summary(sse_latency(url, key, remote, min(args.n, 200)))}")
            waiter = open_store(url, key)
            print(f"    wait_events (poll)  {summary(long_poll_latency(remote, waiter, min(args.n, 100)))}")
            waiter.close()
            remote.close()
        finally:
            server.terminate()
            server.wait(10)
            direct.close()


if __name__ == "__main__":
    main()
