"""The agent's pulse: heartbeats with the current task, and periodic reaping of dead agents."""

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

    Every ``dead_after / 2`` s it also reaps dead agents (:func:`reap_dead_workers`), counting
    only the time since this agent last regained the store after an outage. When the
    store no longer knows this agent (another agent reaped it after a long pause), it registers
    again. Store errors are logged and retried at the next beat. Thread-safe.
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
    ) -> None:
        self._store = store
        self._id = worker_id
        self._queues = tuple(queues)
        self._info = info
        self._interval = interval
        self._dead_after = dead_after
        self._current = current_task
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
            self._beat()
            if time.monotonic() >= next_reap:
                next_reap = time.monotonic() + self._dead_after / 2
                try:
                    reap_dead_workers(
                        self._store, me=self._id, dead_after=self._dead_after, since=self._reachable_since
                    )
                except TaskmillError as exc:
                    logger.warning("could not check for dead agents: %s", exc)

    def _beat(self) -> None:
        started = time.time()
        try:
            self._store.heartbeat(self._id, self._current())
            # A beat that failed, or that took long (a client retrying through an outage), means
            # the store was out of reach: the others' silence is counted again from now on.
            if self._unreachable or time.time() - started > max(1.0, self._interval):
                self._unreachable = False
                self._reachable_since = time.time()
        except NotFoundError:
            logger.warning("agent %s was unregistered (by another agent?); registering again", self._id)
            try:
                self._store.register_worker(self._id, self._queues, self._info)
            except TaskmillError as exc:
                logger.warning("could not register again: %s", exc)
        except TaskmillError as exc:
            self._unreachable = True
            logger.warning("heartbeat failed: %s", exc)
