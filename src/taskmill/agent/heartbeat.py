"""The agent's pulse: heartbeats with the current task, and (database stores) reaping of dead agents.

Who judges liveness: with a ``taskmill server`` (an HTTP store) only the server does, by its own
uptime (:mod:`taskmill.server.reaper`); agents never reap there, so an outage of the server can
never make agents declare each other dead. With a database store shared directly (SQLite,
PostgreSQL) there is no server, so agents reap each other (:mod:`taskmill.agent.reaper`),
counting only time during which this agent's own heartbeats were reaching the store.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from taskmill.agent.reaper import reap_dead_workers
from taskmill.errors import NotFoundError, TaskmillError
from taskmill.store.base import TaskStore
from taskmill.types import JSONValue

logger = logging.getLogger(__name__)


class Heartbeat:
    """Sends ``store.heartbeat`` every ``interval`` s (and at once after :meth:`poke`) on a thread.

    When ``reap`` is on (default: unless the store is an HTTP server), every ``dead_after / 2`` s
    it also reaps dead agents (:func:`reap_dead_workers`), only right after a beat that reached
    the store promptly, and counting only the time since this agent last regained the store
    after an outage. When the store no longer knows this agent (unregistered by hand, or reaped
    after a long pause), it registers again and so re-adopts the tasks it still runs: they stay
    ``in_progress`` under it and the next beats name them. Store errors are logged and retried at
    the next beat. Thread-safe.
    """

    def __init__(
        self,
        store: TaskStore,
        worker_id: str,
        *,
        queues: Sequence[str],
        info: dict[str, JSONValue],
        interval: float,
        dead_after: float,
        current_task: Callable[[], str | None],
        reap: bool | None = None,
    ) -> None:
        self._store = store
        self._id = worker_id
        self._queues = tuple(queues)
        self._info = info
        self._interval = interval
        self._dead_after = dead_after
        self._current = current_task
        self._reap = not store.url.startswith(("http://", "https://")) if reap is None else reap
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._reachable_since = time.time()  # start of the current run of successful beats
        self._unreachable = False
        self._thread = threading.Thread(target=self._loop, name="taskmill-heartbeat", daemon=True)

    def start(self) -> None:
        """Start beating. Non-blocking."""
        self._thread.start()

    def poke(self) -> None:
        """Send a heartbeat now (the current task changed). Non-blocking."""
        self._wake.set()

    def stop(self) -> None:
        """Stop beating; blocking until the thread is done (at most one store call)."""
        self._stopping.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join()

    def _loop(self) -> None:
        next_reap = time.monotonic() + self._dead_after / 2
        while True:
            self._wake.wait(self._interval)
            self._wake.clear()
            if self._stopping.is_set():
                return
            healthy = self._beat()
            if self._reap and healthy and time.monotonic() >= next_reap:
                next_reap = time.monotonic() + self._dead_after / 2
                try:
                    reap_dead_workers(
                        self._store, me=self._id, dead_after=self._dead_after, since=self._reachable_since
                    )
                except TaskmillError as exc:
                    logger.warning("could not check for dead agents: %s", exc)

    def _beat(self) -> bool:
        """One heartbeat; whether it reached the store promptly after earlier ones did."""
        started = time.time()
        try:
            self._store.heartbeat(self._id, self._current())
        except NotFoundError:
            self._register_again()
            return False
        except TaskmillError as exc:
            self._unreachable = True
            logger.warning("heartbeat failed (retrying at the next beat): %s", exc)
            return False
        # A beat that failed, or that took long (a client retrying through an outage), means the
        # store was out of reach: the others' silence is counted again from now on, and nobody
        # is judged on this beat (their beats may only now be getting through too).
        if self._unreachable or time.time() - started > max(1.0, self._interval):
            self._unreachable = False
            self._reachable_since = time.time()
            return False
        return True

    def _register_again(self) -> None:
        task = self._current()
        logger.warning(
            "agent %s is not registered any more (unregistered, or reaped after a long silence); "
            "registering again%s",
            self._id,
            f" and re-adopting task {task}" if task else "",
        )
        try:
            self._store.register_worker(self._id, self._queues, self._info)
            self._store.heartbeat(self._id, self._current())
        except TaskmillError as exc:
            logger.warning("could not register again: %s", exc)
        self._unreachable = True  # judge nobody until a normal beat went through
