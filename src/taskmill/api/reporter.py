"""Background delivery of console lines and scalars to the store, so reporting never blocks work.

A :class:`Reporter` buffers what a task reports and a daemon thread writes it in batches every
``interval`` seconds. :meth:`Reporter.flush` writes everything buffered so far and blocks until it
is stored; :meth:`Reporter.close` flushes and stops the thread. Reporting after close writes
synchronously, so nothing is lost.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable
from typing import TextIO

from taskmill.core.model import LogLine, ScalarPoint
from taskmill.store.base import TaskStore

_MAX_BUFFER = 2000  # flush early past this many items, bounding memory on chatty tasks


class Reporter:
    """Buffers log lines and scalars of one task and writes them in the background."""

    def __init__(self, store: TaskStore, task_id: str, interval: float = 0.5) -> None:
        self._store = store
        self._task_id = task_id
        self._interval = interval
        self._lines: list[LogLine] = []
        self._scalars: list[ScalarPoint] = []
        self._cond = threading.Condition()
        self._write_lock = threading.Lock()  # one writer at a time keeps log order
        self._thread: threading.Thread | None = None
        self._closed = False

    @property
    def interval(self) -> float:
        """Seconds between two background writes."""
        return self._interval

    @interval.setter
    def interval(self, seconds: float) -> None:
        # the writer waits on the condition with this timeout: waking it applies the new period now
        with self._cond:
            self._interval = float(seconds)
            self._cond.notify_all()

    def log(self, text: str, level: str = "info", stream: str = "stdout") -> None:
        """Queue one console line."""
        self._add(lines=[LogLine(text, level, time.time(), 0, stream)])

    def scalar(self, point: ScalarPoint) -> None:
        """Queue one scalar."""
        self._add(scalars=[point])

    def _add(self, lines: list[LogLine] | None = None, scalars: list[ScalarPoint] | None = None) -> None:
        with self._cond:
            if lines:
                self._lines.extend(lines)
            if scalars:
                self._scalars.extend(scalars)
            if self._closed:
                pass
            elif self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name=f"taskmill-reporter-{self._task_id[:8]}", daemon=True
                )
                self._thread.start()
            elif len(self._lines) + len(self._scalars) > _MAX_BUFFER:
                self._cond.notify()
        if self._closed:
            self.flush()

    def _take(self) -> tuple[list[LogLine], list[ScalarPoint]]:
        with self._cond:
            lines, scalars = self._lines, self._scalars
            self._lines, self._scalars = [], []
            return lines, scalars

    def flush(self) -> None:
        """Write everything buffered so far; blocks until stored."""
        with self._write_lock:
            lines, scalars = self._take()
            if lines:
                self._store.append_log(self._task_id, lines)
            if scalars:
                self._store.add_scalars(self._task_id, scalars)

    def _run(self) -> None:
        while True:
            with self._cond:
                if self._closed:
                    return
                self._cond.wait(self._interval)
                if self._closed:
                    return
            try:
                self.flush()
            except Exception:
                time.sleep(self._interval)

    def close(self) -> None:
        """Flush and stop the background thread (idempotent)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=10)
        self.flush()


class ConsoleTee(io.TextIOBase):
    """A text stream that writes through to ``target`` and copies complete lines to a reporter.

    ``route`` may return another reporter for the calling thread/context (in-process pipeline
    steps log to their own task); lines then go there instead.
    """

    def __init__(
        self,
        target: TextIO,
        reporter: Reporter,
        stream: str,
        route: Callable[[], Reporter | None] | None = None,
    ) -> None:
        self._target = target
        self._reporter = reporter
        self._route = route
        self._stream = stream
        self._partial: dict[int, tuple[Reporter, str]] = {}  # unterminated line, per destination
        self._lock = threading.Lock()

    @property
    def target(self) -> TextIO:
        """The stream being teed."""
        return self._target

    def write(self, s: str) -> int:
        n = self._target.write(s)
        reporter = (self._route() if self._route is not None else None) or self._reporter
        with self._lock:
            _, before = self._partial.get(id(reporter), (reporter, ""))
            *complete, rest = (before + s).split("\n")
            if rest:
                self._partial[id(reporter)] = (reporter, rest)
            else:
                self._partial.pop(id(reporter), None)
        level = "error" if self._stream == "stderr" else "info"
        for line in complete:
            reporter.log(line, level, self._stream)
        return len(s) if n is None else n

    def flush(self) -> None:
        self._target.flush()

    def flush_partial(self) -> None:
        """Report an unterminated last line (at task close)."""
        with self._lock:
            pending, self._partial = list(self._partial.values()), {}
        for reporter, rest in pending:
            reporter.log(rest, "error" if self._stream == "stderr" else "info", self._stream)

    def isatty(self) -> bool:
        try:
            return self._target.isatty()
        except ValueError:  # the stream was closed under us (e.g. at interpreter exit)
            return False

    def fileno(self) -> int:
        return self._target.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._target, "encoding", "utf-8")

    def writable(self) -> bool:
        return True
