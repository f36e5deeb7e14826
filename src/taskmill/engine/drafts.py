"""Draft steps (ClearML's ``draft=True``) in the local modes: held until a person releases them.

A draft step's task is created as a draft and nobody runs it: the point is that a person looks at
it first (and may change its parameters, ``taskmill tasks set-param``). Enqueueing the task
(``taskmill queues enqueue <task>`` or the web UI) releases it. In queue mode an agent then runs it
(:class:`~taskmill.engine.launchers.QueueLauncher`); in the local modes :class:`DraftGate` takes
it back out of the queue and hands it to the run's own launcher, so it runs where the other steps
run. Taking it is a compare-and-set (queued -> in_progress): if an agent serving that queue was
quicker, the gate follows that agent's run instead, and the step never runs twice.

A :class:`~taskmill.engine.launchers.StatusFeed`, started with the first draft, waits on the
store's event feed; nothing polls.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace

from taskmill.core.states import TaskStatus
from taskmill.engine.launchers import Done, Launcher, LaunchRequest, StatusFeed
from taskmill.engine.nodes import Node
from taskmill.engine.queues import release_queue
from taskmill.errors import ConflictError
from taskmill.store.base import TaskStore


@dataclass
class _Held:
    request: LaunchRequest
    followed: bool = False  # an agent runs it: its end comes through the event feed


class DraftGate(Launcher):
    """Wraps a local launcher: draft steps wait for a manual enqueue; all others pass straight on.

    ``worker`` names this run in the status message of a draft it takes.
    """

    def __init__(self, inner: Launcher, store: TaskStore, *, warn: Done, worker: str) -> None:
        self._inner = inner
        self._store = store
        self._warn = warn
        self._worker = worker
        self.in_process = inner.in_process
        self.reports_start = inner.reports_start
        self.starts_immediately = inner.starts_immediately
        self._held: dict[str, _Held] = {}
        self._lock = threading.Lock()
        self._feed = StatusFeed(store, self._on_status, "taskmill-draft-gate")

    def starts_immediately_for(self, node: Node) -> bool:
        """As the launcher it guards (a draft is never created running: see the scheduler)."""
        return self._inner.starts_immediately_for(node)

    def start(self) -> None:
        self._inner.start()

    def launch(self, request: LaunchRequest) -> None:
        node, task_id = request.node, request.task_id
        if not node.spec.draft:
            self._inner.launch(request)
            return
        release_to = release_queue(self._store, request.queue)
        self._feed.start()  # with the first draft: runs without drafts watch nothing
        with self._lock:
            self._held[task_id] = _Held(request)
        self._warn(
            f"step '{node.name}' is a draft: it runs once task {task_id} is enqueued "
            f"(`taskmill queues enqueue {task_id} --queue {release_to}`; change its parameters "
            f"first with `taskmill tasks set-param {task_id} Section/name=value`)"
        )
        # it may have been released before the watcher started
        self._on_status(task_id, self._store.get_task(task_id).status)

    def _on_status(self, task_id: str, status: TaskStatus) -> None:
        with self._lock:
            held = self._held.get(task_id)
            if held is None:
                return
            if status.is_final:
                del self._held[task_id]
                action = "done"
            elif status == TaskStatus.queued and not held.followed:
                del self._held[task_id]  # ours to take; back in, followed, if an agent was quicker
                action = "take"
            elif status == TaskStatus.in_progress and not held.followed:
                held.followed = True
                action = "started"
            else:
                return
        request = held.request
        if action == "done":
            request.done(task_id)
        elif action == "started":
            if request.started is not None:
                request.started(task_id)
        elif self._take(task_id):
            if request.started is not None:
                request.started(task_id)
            self._inner.launch(replace(request, started=None))  # started is reported already
        else:
            with self._lock:
                held.followed = True
                self._held[task_id] = held
            if request.started is not None:
                request.started(task_id)
            self._on_status(task_id, self._store.get_task(task_id).status)  # ended already?

    def _take(self, task_id: str) -> bool:
        try:
            self._store.set_status(
                task_id,
                TaskStatus.in_progress,
                message=f"released draft, run by {self._worker}",
                expected=(TaskStatus.queued,),
                worker=self._worker,
            )
        except ConflictError:  # an agent claimed it first: follow that run instead
            return False
        return True

    def abort(self, task_id: str) -> None:
        with self._lock:
            held = self._held.get(task_id)
        if held is None:
            self._inner.abort(task_id)
            return
        if not self._store.get_task(task_id).status.is_final:
            # a draft, queued or agent-run task: the status change ends it (the agent kills it)
            self._store.set_status(task_id, TaskStatus.stopped, message="aborted", force=True)

    def close(self) -> None:
        self._feed.close()
        self._inner.close()
