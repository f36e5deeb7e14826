"""Artifact writes left running on a background thread, and waiting for them.

An in-process consumer takes a step's output from memory, so the producer need not wait for its
bytes to reach the disk. :class:`PendingWrites` runs such writes on one writer thread (first in,
first out, so two writes of one artifact land in order) and lets readers of a file wait for the
write of exactly that file. Each write is atomic as any other (temporary file, fsync, rename): a
crash leaves the complete artifact or none.

The writer thread is a ``concurrent.futures`` worker: the interpreter joins it at exit, so a
process that ends normally never leaves a write unfinished.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor


class PendingWrites:
    """Writes under way, keyed by the URI they write (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._futures: dict[str, Future[None]] = {}
        self._pool: ThreadPoolExecutor | None = None

    def reserve(self, key: str) -> Callable[[Callable[[], None] | None], None]:
        """Mark ``key`` as being written now; returns ``start(work)``.

        Non-blocking. Readers waiting on ``key`` block from this call on, until the ``work``
        given to ``start`` has run (``start(None)`` cancels the write and releases them).
        ``work`` must handle its own errors; whatever it raises is dropped.
        """
        go = threading.Event()
        job: list[Callable[[], None] | None] = [None]

        def run() -> None:
            go.wait()
            work = job[0]
            if work is not None:
                work()

        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="taskmill-artifact-writer")
            future = self._pool.submit(run)
            self._futures[key] = future
        future.add_done_callback(lambda f: self._forget(key, f))

        def start(work: Callable[[], None] | None) -> None:
            job[0] = work
            go.set()

        return start

    def _forget(self, key: str, future: Future[None]) -> None:
        with self._lock:
            if self._futures.get(key) is future:
                del self._futures[key]

    def wait(self, key: str) -> None:
        """Block until the write of ``key`` (if any) has ended. Never raises for the write."""
        with self._lock:
            future = self._futures.get(key)
        if future is not None:
            future.exception()  # waits; the work reports its own failures

    def wait_all(self) -> None:
        """Block until every write reserved so far has ended. Never raises for the writes."""
        with self._lock:
            futures = list(self._futures.values())
        for future in futures:
            future.exception()

    def busy(self) -> bool:
        """True while some write is under way."""
        with self._lock:
            return bool(self._futures)
