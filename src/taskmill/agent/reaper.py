"""Dead agents: an agent that stopped sending heartbeats loses its tasks.

With a database store shared directly (no server), every agent runs :func:`reap_dead_workers`
when it starts and then periodically; with a ``taskmill server`` only the server reaps, by its own
uptime (agents do not: see :mod:`taskmill.agent.heartbeat`). Tasks still
``in_progress`` under an agent whose last heartbeat is older than ``dead_after`` seconds are marked
``failed`` with a message saying so (the pipeline's retry policy applies from there), and the agent
is unregistered; silence while the store was unreachable for the reaper itself (an outage) does
not count. Many agents may reap at once: each
task is failed by a compare-and-set, so only one of them writes it. ``last_seen`` comes from each
agent's own clock, so clocks of machines sharing a store must agree to within a fraction of
``dead_after``.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

from taskmill.core.model import LogLine
from taskmill.core.states import TaskStatus
from taskmill.errors import ConflictError, InvalidTransitionError, NotFoundError
from taskmill.store.base import TaskFilter, TaskStore

logger = logging.getLogger(__name__)


def reap_dead_workers(
    store: TaskStore, *, me: str, dead_after: float, now: float | None = None, since: float = 0.0
) -> list[str]:
    """Fail the tasks of agents silent for over ``dead_after`` s and unregister them; returns their ids.

    Blocking (a few store calls). ``me`` (the caller's own id) is never reaped. ``now`` defaults
    to the current time (tests pass their own). ``since``: when the caller last started reaching
    the store (after an outage); silence before it is not counted, so agents that could not
    reach a store that was down are not declared dead for it.
    """
    now = time.time() if now is None else now
    dead = [w for w in store.list_workers() if w.id != me and now - max(w.last_seen, since) > dead_after]
    if not dead:
        return []
    running = store.find_tasks(TaskFilter(status=(TaskStatus.in_progress,)))
    for worker in dead:
        seen = datetime.fromtimestamp(worker.last_seen).strftime("%Y-%m-%d %H:%M:%S")
        ago = now - worker.last_seen
        message = f"agent {worker.id} stopped sending heartbeats (last seen {seen}, {ago:.0f} s ago)"
        for task in running:
            if task.worker == worker.id:
                _fail(store, task.id, message)
        store.unregister_worker(worker.id)
        logger.warning("%s; unregistered it", message)
    return [w.id for w in dead]


def fail_orphaned_tasks(store: TaskStore, worker_id: str) -> list[str]:
    """Fail tasks still ``in_progress`` under ``worker_id`` itself: a previous agent with the same
    id died running them (an agent restarted with ``--id``). Call before claiming anything."""
    message = f"agent {worker_id} restarted while running this task"
    failed = []
    for task in store.find_tasks(TaskFilter(status=(TaskStatus.in_progress,))):
        if task.worker == worker_id and _fail(store, task.id, message):
            failed.append(task.id)
    return failed


def _fail(store: TaskStore, task_id: str, message: str) -> bool:
    try:
        store.set_status(
            task_id, TaskStatus.failed, message=message, reason=message, expected=(TaskStatus.in_progress,)
        )
    except (ConflictError, InvalidTransitionError, NotFoundError):
        return False  # another agent reaped it first, or it ended meanwhile
    store.append_log(task_id, [LogLine(f"taskmill agent: {message}", "error", time.time(), 0, "stderr")])
    return True
