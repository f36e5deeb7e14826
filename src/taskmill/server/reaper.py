"""The server judges agents' liveness: a dead agent's tasks fail even when no other agent is alive.

:class:`ServerReaper` runs on a thread of the server process. An agent is dead once it has sent
no heartbeat for ``dead_after`` seconds *of this server's uptime*: silence before the server
started (a server outage, a restart) does not count, so agents that could not reach a stopped
server are never declared dead for it. Likewise, time while the server could not reach its own
database (a check that failed) is not counted: the count starts again at the first check that
works. A dead agent's ``in_progress`` tasks are marked
``failed`` with a message saying so (a pipeline's retry policy applies from there; the
fencing of attempts keeps a zombie process from writing afterwards) and the agent is
unregistered. Each task is failed by a compare-and-set, so agents reaping at the same time as
the server never fail one twice.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from datetime import datetime

from taskmill.core.model import LogLine
from taskmill.core.states import TaskStatus
from taskmill.errors import ConflictError, InvalidTransitionError, NotFoundError, TaskmillError
from taskmill.store.base import TaskFilter, TaskStore

logger = logging.getLogger(__name__)

#: Seconds of server uptime without a heartbeat after which an agent is dead (agents beat every
#: 2 s, so this is 60 missed beats: long enough for an agent whose machine swaps or whose network
#: hiccups, short enough that a dead agent's tasks fail within about two minutes).
DEFAULT_DEAD_AFTER = 120.0
#: Longest pause between two checks: a dead agent is noticed at most this long after ``dead_after``.
MAX_CHECK_INTERVAL = 10.0
#: The environment variable that overrides :data:`DEFAULT_DEAD_AFTER` for ``taskmill server``.
DEAD_AFTER_ENV = "TASKMILL_SERVER_DEAD_AFTER"


def dead_after_from_env(default: float = DEFAULT_DEAD_AFTER) -> float:
    """``$TASKMILL_SERVER_DEAD_AFTER`` as seconds (``default`` when unset).

    Raises ValueError naming the variable for a value that is not a positive number.
    """
    text = os.environ.get(DEAD_AFTER_ENV, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise ValueError(f"{DEAD_AFTER_ENV} must be a positive number of seconds, got {text!r}")
    return value


class ServerReaper:
    """Fails the tasks of agents silent for ``dead_after`` s of server uptime. Thread-safe.

    :meth:`start` begins checking every ``dead_after / 4`` s (at most :data:`MAX_CHECK_INTERVAL`)
    on a daemon thread; :meth:`stop` ends it. :meth:`reap` runs one check (blocking, a few store
    calls); a check that cannot reach the store restarts the count of silence (see the module).
    """

    def __init__(self, store: TaskStore, *, dead_after: float = DEFAULT_DEAD_AFTER) -> None:
        self._store = store
        self.dead_after = dead_after
        self.up_since = time.time()  # silence before this moment is the server's, not the agent's
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._blind = False  # the last check could not reach the store

    def start(self) -> None:
        """Start the checking thread (idempotent). Non-blocking."""
        if self._thread is None:
            self.up_since = time.time()
            self._thread = threading.Thread(target=self._loop, name="taskmill-server-reaper", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the thread; blocking for at most one check."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _loop(self) -> None:
        while not self._stop.wait(max(0.05, min(self.dead_after / 4, MAX_CHECK_INTERVAL))):
            try:
                self.reap()
            except TaskmillError as exc:
                logger.warning("could not check for dead agents: %s", exc)

    def reap(self, now: float | None = None) -> list[str]:
        """Fail the tasks of dead agents and unregister them; returns their ids.

        Raises the store's error when the store cannot be reached; the silence of agents is then
        counted again from the next check that works (their heartbeats could not be stored either).
        """
        try:
            return self._reap(now)
        except TaskmillError:
            self._blind = True
            raise

    def _reap(self, now: float | None) -> list[str]:
        workers = self._store.list_workers()
        now = time.time() if now is None else now
        if self._blind:
            self._blind = False
            self.up_since = max(self.up_since, now)
            logger.info("the store is reachable again: agents' silence is counted from now")
        dead = [w for w in workers if now - max(w.last_seen, self.up_since) > self.dead_after]
        if not dead:
            return []
        running = self._store.find_tasks(TaskFilter(status=(TaskStatus.in_progress,)))
        for worker in dead:
            seen = datetime.fromtimestamp(worker.last_seen).strftime("%Y-%m-%d %H:%M:%S")
            message = (
                f"agent {worker.id} stopped sending heartbeats (last seen {seen}; the server heard "
                f"nothing from it for {now - max(worker.last_seen, self.up_since):.0f} s while up)"
            )
            for task in running:
                if task.worker == worker.id:
                    self._fail(task.id, message)
            self._store.unregister_worker(worker.id)
            logger.warning("%s; unregistered it", message)
        return [w.id for w in dead]

    def _fail(self, task_id: str, message: str) -> None:
        try:
            self._store.set_status(
                task_id,
                TaskStatus.failed,
                message=message,
                reason=message,
                expected=(TaskStatus.in_progress,),
            )
        except (ConflictError, InvalidTransitionError, NotFoundError):
            return  # it ended meanwhile, or an agent reaped it first
        line = LogLine(f"taskmill server: {message}", "error", time.time(), 0, "stderr")
        self._store.append_log(task_id, [line])
