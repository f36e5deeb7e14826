"""Launchers run step tasks somewhere and report when each one is over.

Every launcher is non-blocking: :meth:`Launcher.launch` takes one :class:`LaunchRequest` and
returns at once; the request's ``done(task_id)`` is called (from any thread) once the step's
process or call has ended. The task's final status is in the store; the scheduler reads it from
there, so every launcher reports the same way.

Which launcher a run uses follows from its :class:`RunMode`:

* :class:`InlineLauncher` (``debug``): function steps as plain calls on worker threads of this
  process (breakpoints work; outputs are handed over in memory, large arrays are written to disk
  in the background and :meth:`InlineLauncher.close` waits for those writes).
* :class:`ProcessLauncher` (``process``): each step in its own process, forked from a warm
  worker that has taskmill (and the user's modules) imported already.
* :class:`QueueLauncher` (``queue``): steps go to queues; agents run them.

The interface (:class:`Launcher`, :class:`LaunchRequest`) and the semantics every launcher shares
are in :mod:`taskmill.engine.launcher_api`; other launchers (Dask, Ray, third-party ones) are
chosen by name through :mod:`taskmill.engine.launcher_plugins`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from enum import StrEnum

from taskmill.core.model import LogLine
from taskmill.core.states import TaskStatus
from taskmill.engine.backend import WRITE_SCOPE, WriteScope
from taskmill.engine.launcher_api import Done, Launcher, LaunchRequest, StepTracker, exit_reason
from taskmill.engine.nodes import Node
from taskmill.engine.queues import blocked_by_controller, no_queue_message, served
from taskmill.errors import ExecutionError
from taskmill.store.base import TaskStore

logger = logging.getLogger(__name__)

# The launcher interface lives in taskmill.engine.launcher_api; these names stay importable here.
__all__ = [
    "Done",
    "InlineLauncher",
    "LaunchRequest",
    "Launcher",
    "ProcessLauncher",
    "QueueLauncher",
    "RunMode",
    "StatusFeed",
]


class RunMode(StrEnum):
    """Where a pipeline's controller and its steps run (``TASKMILL_PIPELINE_MODE`` spells one)."""

    #: the controller runs here; steps go to their queues and agents run them
    queue = "queue"
    #: the controller runs here; each step in a local process (``start_locally(True)``)
    process = "process"
    #: the controller runs here; function steps as plain calls in this process (debugging)
    debug = "debug"
    #: the controller itself goes to a queue for an agent; nothing runs here (``start()``)
    remote = "remote"

    @classmethod
    def parse(cls, text: str) -> RunMode:
        """The mode ``TASKMILL_PIPELINE_MODE`` names: ``queue``, ``process`` or ``debug`` (a run
        there is always controlled here, so never ``remote``); ExecutionError otherwise."""
        if text in (cls.queue, cls.process, cls.debug):
            return cls(text)
        raise ExecutionError(f"unknown pipeline mode '{text}'; use 'process', 'debug' or 'queue'")


#: status values a task.status event may carry (others are ignored, never guessed)
_STATUS_VALUES = frozenset(s.value for s in TaskStatus)


class InlineLauncher(Launcher):
    """Function steps as calls in this process, on up to ``max_workers`` threads."""

    in_process = True
    #: a launched step starts at once (the scheduler never launches more than max_workers)
    starts_immediately = True

    def __init__(
        self, execute: Callable[[str, Node], None], store: TaskStore, *, max_workers: int = 8
    ) -> None:
        self._execute = execute
        self._store = store
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="taskmill-step")
        self._aborted: set[str] = set()
        self._lock = threading.Lock()
        self._writes = WriteScope()

    def launch(self, request: LaunchRequest) -> None:
        node = request.node
        if node.spec.kind != "function":
            raise ExecutionError(
                f"step '{node.name}' clones a task; the in-process mode runs function steps only. "
                "Use start_locally(run_pipeline_steps_locally=True) to run task steps as processes"
            )

        def run() -> None:
            token = WRITE_SCOPE.set(self._writes)
            try:
                self._execute(request.task_id, node)
            finally:
                WRITE_SCOPE.reset(token)
                request.done(request.task_id)

        self._pool.submit(run)

    def abort(self, task_id: str) -> None:
        # A thread cannot be killed: the step is marked stopped now and its result is ignored.
        with self._lock:
            self._aborted.add(task_id)
        rec = self._store.get_task(task_id)
        if not rec.status.is_final:
            self._store.set_status(task_id, TaskStatus.stopped, message="aborted", force=True)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        # the run is over for everyone outside this process once close returns: the artifact
        # bytes its steps left writing must be on disk by then
        self._writes.drain()


class ProcessLauncher(Launcher):
    """Each step in its own process, forked from a warm worker (see :mod:`taskmill.engine.forkserver`).

    ``targets`` maps a step kind (``function``, ``task``) to the ``"module:function"`` the child
    runs with the task id as its argument; the API layer provides them.
    """

    def __init__(
        self,
        store: TaskStore,
        targets: Mapping[str, str],
        *,
        env: Mapping[str, str] | None = None,
        sys_path: Sequence[str] = (),
        preload: Sequence[str] = ("taskmill",),
        cwd: str | None = None,
    ) -> None:
        from taskmill.engine.forkserver import ForkServer

        self._store = store
        self._targets = dict(targets)
        self._tracker = StepTracker(store)
        self._server = ForkServer(preload=preload, sys_path=sys_path, env=env, cwd=cwd, on_exit=self._exited)

    def start(self) -> None:
        # The warm worker imports while the run is being set up; the first step waits for it.
        self._server.start(wait=False)

    def launch(self, request: LaunchRequest) -> None:
        task_id = request.task_id
        self._tracker.track(request)
        try:
            self._server.submit(task_id, self._targets[request.node.spec.kind], args=[task_id])
        except BaseException:
            self._tracker.forget(task_id)
            raise

    def _exited(self, task_id: str, code: int) -> None:
        # A process that died without recording an end (crash, kill -9, os._exit) fails its task.
        self._tracker.ended(task_id, exit_reason(code))

    def abort(self, task_id: str) -> None:
        self._tracker.stop(task_id)
        self._server.kill(task_id)

    def close(self) -> None:
        self._server.close()


class StatusFeed:
    """Calls ``on_status(task_id, status)`` for every task status change in the store, from one
    thread that waits on :meth:`TaskStore.wait_events` (no fixed polling interval).

    Only changes after :meth:`start` are reported; callers check the current status of a task
    they start watching later themselves. Survives a store that is briefly unreachable (HTTP).
    """

    def __init__(self, store: TaskStore, on_status: Callable[[str, TaskStatus], None], name: str) -> None:
        self._store = store
        self._on_status = on_status
        self._name = name
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._after = 0

    def start(self) -> None:
        """Start watching (idempotent). Blocking for one store read."""
        if self._thread is None:
            self._after = self._store.last_event_id()
            self._thread = threading.Thread(target=self._watch, name=self._name, daemon=True)
            self._thread.start()

    def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                events = self._store.wait_events(self._after, timeout=1.0)
            except Exception:  # the store may be restarting (HTTP): keep watching
                self._stop.wait(0.5)
                continue
            for event in events:
                self._after = max(self._after, event.id)
                if event.kind == "task.status" and event.task_id:
                    status = event.data.get("status")
                    if status in _STATUS_VALUES:
                        self._on_status(event.task_id, TaskStatus(status))

    def close(self) -> None:
        """Stop watching and wait for the thread (idempotent)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


class QueueLauncher(Launcher):
    """Steps go to queues; agents run them. Completion arrives through the store's event feed.

    One watcher thread waits on :meth:`TaskStore.wait_events` (no fixed polling interval) and
    reports a step when its task reaches a final status, and when an agent starts it.
    """

    reports_start = True

    def __init__(self, store: TaskStore, *, warn: Callable[[str], None] | None = None) -> None:
        self._store = store
        self._warn = warn or (lambda message: None)
        self._done: dict[str, Done] = {}
        self._started: dict[str, Done] = {}
        self._lock = threading.Lock()
        self._feed = StatusFeed(store, self._on_status, "taskmill-queue-watch")
        self._warned: set[str] = set()

    def start(self) -> None:
        self._feed.start()

    def launch(self, request: LaunchRequest) -> None:
        node, task_id, queue = request.node, request.task_id, request.queue
        if not queue:
            raise ExecutionError(no_queue_message(node.name))
        with self._lock:
            self._done[task_id] = request.done
            if request.started is not None:
                self._started[task_id] = request.started
        if node.spec.draft:
            # ClearML's draft steps: the task waits as a draft until someone edits and enqueues it
            # (`taskmill queues enqueue <task>` or the UI); an agent then runs it as usual.
            self._warn(
                f"step '{node.name}' is a draft: enqueue task {task_id} to run it "
                f"(`taskmill queues enqueue {task_id} --queue {queue}`)"
            )
            return
        record = self._store.enqueue(task_id, queue)
        if queue not in self._warned and not served(self._store, queue):
            self._warned.add(queue)
            self._warn(
                f"no agent serves queue '{queue}' yet: step '{node.name}' waits there until one does "
                f"(start one with `taskmill agent --queue {queue}`)"
            )
        elif queue not in self._warned:
            self._warned.add(queue)
            self._check_blocked(node, task_id, queue, record.parent)
        self._check(task_id)  # it may have ended before we watched (a very fast agent)

    def _check_blocked(self, node: Node, task_id: str, queue: str, controller_id: str | None) -> None:
        """Say so (the controller's console, and the waiting step's console in the UI) when the
        only agents of ``queue`` are busy running this step's own controller: it would wait forever."""
        agents = blocked_by_controller(self._store, queue, controller_id)
        if not agents:
            return
        message = (
            f"step '{node.name}' cannot start: queue '{queue}' is served only by {', '.join(agents)}, "
            f"which runs this pipeline's controller; start another agent for it (`taskmill agent "
            f"--queue {queue}`), or run controllers on a services agent (`taskmill agent --queue "
            "services --services-mode`, `pipe.start(queue='services')`)"
        )
        self._warn(message)
        line = LogLine(f"taskmill: {message}", "warning", time.time(), 0, "stderr")
        try:
            self._store.append_log(task_id, [line])  # the step's console in the UI says why it waits
        except Exception:  # the controller's console already says it; this copy is a courtesy
            logger.debug("could not note the block on step %s", task_id, exc_info=True)

    def _on_status(self, task_id: str, status: TaskStatus) -> None:
        with self._lock:
            if task_id not in self._done:
                return
            started = self._started.pop(task_id, None) if status == TaskStatus.in_progress else None
            done = self._done.pop(task_id, None) if status.is_final else None
            if done is not None:
                self._started.pop(task_id, None)
        if started is not None:
            started(task_id)
        if done is not None:
            done(task_id)

    def _check(self, task_id: str) -> None:
        status = self._store.get_task(task_id).status
        self._on_status(task_id, status)

    def abort(self, task_id: str) -> None:
        rec = self._store.get_task(task_id)
        if not rec.status.is_final:
            # queued: it leaves its queue; running: its agent sees the status and kills it
            self._store.set_status(task_id, TaskStatus.stopped, message="aborted", force=True)

    def close(self) -> None:
        self._feed.close()
