"""Following the store's event feed: wake the agent on enqueues, abort tasks set ``stopped``."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from taskmill.errors import TaskmillError
from taskmill.store.base import TaskStore

logger = logging.getLogger(__name__)


class EventWatcher:
    """Calls ``on_queued()`` after events that put tasks in a queue, and ``on_stopped(task_id)``
    for each task set ``stopped``; on a thread of its own, blocking in ``store.wait_events``.

    Start it with the id of the last event seen *before* the agent's first claim, so that no
    enqueue between that claim and the watcher's first wait is missed. Callbacks run on the
    watcher's thread and must not block for long. Store errors are logged and retried.
    """

    #: Longest single wait in the store (seconds): also how long :meth:`stop` may take.
    WAIT = 1.0
    #: Pause after a batch of events (seconds): while events keep coming (a busy store), reads are
    #: spaced out and events batched instead of one store query per event.
    BATCH_GAP = 0.02

    def __init__(
        self,
        store: TaskStore,
        after: int,
        *,
        on_queued: Callable[[], None],
        on_stopped: Callable[[str], None],
    ) -> None:
        self._store = store
        self._after = after
        self._on_queued = on_queued
        self._on_stopped = on_stopped
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="taskmill-events", daemon=True)

    def start(self) -> None:
        """Start following events. Non-blocking."""
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to stop. Non-blocking; :meth:`join` waits for it."""
        self._stopping.set()

    def join(self) -> None:
        """Wait until the thread has stopped (at most about :data:`WAIT` seconds after :meth:`stop`)."""
        if self._thread.is_alive():
            self._thread.join()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                # A plain read first: while events keep coming it returns them at once, and the
                # blocking wait (which may set up a listener) is only entered when idle.
                events = self._store.events_since(self._after) or self._store.wait_events(
                    self._after, self.WAIT
                )
            except TaskmillError as exc:
                logger.warning("cannot read the store's events (retrying in 1 s): %s", exc)
                self._stopping.wait(1.0)
                continue
            queued = False
            for event in events:
                self._after = event.id
                if event.kind != "task.status" or self._stopping.is_set():
                    continue
                status = event.data.get("status")
                if status == "queued":
                    queued = True
                elif status == "stopped" and event.task_id:
                    self._on_stopped(event.task_id)
            if queued:
                self._on_queued()
            if events:
                self._stopping.wait(self.BATCH_GAP)
