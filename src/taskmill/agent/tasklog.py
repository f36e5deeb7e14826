"""Agent-side lines in a task's console log: what the agent did to set the task up.

The task's own process streams its console itself (``Task.init`` captures it); the agent adds the
lines of the steps before that process exists (checkout, virtualenv build) and the reason when it
ends a task (exit code, abort, lost agent).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable

from taskmill.core.model import LogLine
from taskmill.store.base import TaskStore

#: Buffered lines are written at least this often (seconds) while a setup step produces output.
FLUSH_EVERY = 0.5


class TaskLog:
    """Appends agent lines to one task's log. Buffered; thread-safe; :meth:`flush` writes.

    Lines go to the store every :data:`FLUSH_EVERY` seconds while they come in, and on
    :meth:`flush`. ``header`` is written before the first line, and not at all when nothing else
    is (a task that needed no setup gets no agent lines: one store write fewer). Store errors are
    not swallowed: a failing store is the agent's problem too.
    """

    def __init__(
        self, store: TaskStore, task_id: str, *, header: str = "", prefix: str = "taskmill agent: "
    ) -> None:
        self._store = store
        self._task_id = task_id
        self._prefix = prefix
        self._header = header
        self._lock = threading.Lock()
        self._pending: list[LogLine] = []
        self._last_flush = time.monotonic()

    def write(self, text: str, level: str = "info", *, raw: bool = False) -> None:
        """Add one line per line of ``text`` (``raw``: without the agent prefix, e.g. pip output)."""
        now = time.time()
        prefix = "" if raw else self._prefix
        stream = "stderr" if level in ("error", "warning") else "stdout"
        lines = [LogLine(f"{prefix}{line}", level, now, 0, stream) for line in text.rstrip("\n").split("\n")]
        with self._lock:
            if self._header:
                self._pending.append(LogLine(f"{self._prefix}{self._header}", "info", now, 0, "stdout"))
                self._header = ""
            self._pending.extend(lines)
            due = time.monotonic() - self._last_flush >= FLUSH_EVERY
        if due:
            self.flush()

    def write_all(self, lines: Iterable[str], level: str = "info") -> None:
        """Add several raw lines (a tool's output) and flush."""
        for line in lines:
            self.write(line, level, raw=True)
        self.flush()

    def flush(self) -> None:
        """Write the buffered lines now. Blocking (one store call)."""
        with self._lock:
            pending, self._pending = self._pending, []
            self._last_flush = time.monotonic()
        if pending:
            self._store.append_log(self._task_id, pending)
