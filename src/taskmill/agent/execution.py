"""One claimed task, from its environment to its final status (a thread per task).

The child process records its own end (completed, or failed with the traceback) through the Task
API. The agent only decides when the child did not: a non-zero exit fails the task with "process
exited with code N", a kill with "process killed by signal S". A task set ``stopped`` while it
runs is killed (SIGTERM, SIGKILL after :data:`KILL_GRACE`) and stays ``stopped``.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from taskmill.agent.children import Child, Spawner
from taskmill.agent.environment import EnvironmentBuilder, Prepared, TaskKind, task_kind
from taskmill.agent.errors import EnvironmentBuildError
from taskmill.agent.tasklog import TaskLog
from taskmill.agent.threaded import ThreadedExecution
from taskmill.core.model import TaskRecord
from taskmill.core.states import TaskStatus
from taskmill.core.stored import STEP_TARGETS
from taskmill.errors import ConflictError, InvalidTransitionError, TaskmillError
from taskmill.store.base import TaskStore

logger = logging.getLogger(__name__)

#: Seconds between SIGTERM and SIGKILL when a task is aborted.
KILL_GRACE = 1.0

#: Warm-worker targets per kind of task (see :mod:`taskmill.agent.run_task`).
FUNCTION_TARGET = STEP_TARGETS["function"]
SCRIPT_TARGET = "taskmill.agent.run_task:script_main"
CHECKOUT_TARGET = "taskmill.agent.run_task:checkout_main"


@dataclass(frozen=True, slots=True)
class ExecutionContext:
    """What every execution of one agent shares."""

    store: TaskStore
    worker_id: str
    spawner: Spawner
    builder: EnvironmentBuilder


class TaskExecution(ThreadedExecution):
    """Runs one claimed task on a thread of its own. ``abort`` may be called from any thread."""

    def __init__(
        self, ctx: ExecutionContext, record: TaskRecord, on_done: Callable[[TaskExecution], None]
    ) -> None:
        super().__init__(record, "without a status (the agent failed)")
        self._ctx = ctx
        self._on_done = on_done
        self._lock = threading.Lock()  # guards _child and _abort_reason
        self._child: Child | None = None
        self._abort_reason: str | None = None
        self._attempt = 0  # this claim's attempt number (0: unknown, unfenced)

    def abort(self, reason: str | None = None) -> None:
        """Stop the task's process (SIGTERM, SIGKILL after :data:`KILL_GRACE`). Blocking up to about
        ``KILL_GRACE`` seconds; idempotent.

        ``reason``: the agent's own reason (shutdown): the task is marked ``stopped`` with it
        first. None: somebody else stopped the task already (the store says ``stopped``).
        """
        store = self._ctx.store
        if reason is not None:
            try:
                store.set_status(
                    self.task_id, TaskStatus.stopped, message=reason, expected=(TaskStatus.in_progress,)
                )
            except (ConflictError, InvalidTransitionError):
                pass  # it ended meanwhile: nothing to stop
        with self._lock:
            self._abort_reason = self._abort_reason or reason or "aborted"
            child = self._child
        if child is not None:
            child.kill(KILL_GRACE)

    # -- the thread ------------------------------------------------------------------------------

    def _run(self) -> None:
        log = TaskLog(self._ctx.store, self.task_id, header=f"agent {self._ctx.worker_id} runs this task")
        prepared: Prepared | None = None
        try:
            # Every write of this thread (and of the task's process, through TASKMILL_ATTEMPT) is
            # this attempt's: once a retry has claimed the task, the store refuses them.
            self._attempt = self._ctx.store.attempt_of(self.task_id)
            self._ctx.store.set_request_fence(self.task_id, self._attempt)
            kind = task_kind(self.record, [c.name for c in self._ctx.store.get_configs(self.task_id)])
            prepared = self._prepare(kind, log)
            if prepared is not None:
                code = self._launch_and_wait(prepared, log)
                self._finish(code, log)
        except Exception as exc:  # the agent must survive whatever one task does to it
            logger.exception("task %s: the agent failed to run it", self.task_id)
            try:
                self._fail(f"agent error: {type(exc).__name__}: {exc}", log)
            except TaskmillError:
                logger.exception("task %s: cannot record its failure", self.task_id)
        finally:
            if prepared is not None:
                self._ctx.builder.release(self.record, prepared)
            try:
                log.flush()
            except TaskmillError:
                logger.exception("task %s: cannot write its log", self.task_id)
            self._on_done(self)

    def _prepare(self, kind: TaskKind, log: TaskLog) -> Prepared | None:
        try:
            prepared = self._ctx.builder.prepare(self.record, kind, log)
        except EnvironmentBuildError as exc:
            for line in exc.output:
                log.write(line, "error", raw=True)
            self._fail(f"environment build failed: {exc}", log)
            return None
        return prepared

    def _launch_and_wait(self, prepared: Prepared, log: TaskLog) -> int:
        log.flush()  # setup lines come before the task's own
        # A stop that came before this execution was registered with the agent is seen here.
        current = self._ctx.store.get_task(self.task_id)
        with self._lock:
            if current.status != TaskStatus.in_progress:
                self._abort_reason = (
                    self._abort_reason or f"{current.status.value} before its process started"
                )
            if self._abort_reason is not None:
                log.write("aborted before its process started")
                return -int(signal.SIGTERM)
            child = self._spawn(prepared)
            self._child = child
        logger.debug("task %s: pid %d", self.task_id, child.pid)
        return child.wait()

    def _spawn(self, prepared: Prepared) -> Child:
        """Start the task's process: cold in its venv, else forked from the warm worker."""
        env = {"TASKMILL_TASK_ID": self.task_id}
        if self._attempt:
            env["TASKMILL_ATTEMPT"] = str(self._attempt)
        if prepared.kind == TaskKind.controller:
            env["TASKMILL_PIPELINE_MODE"] = "queue"
        spawner, tid = self._ctx.spawner, self.task_id
        root = [str(prepared.root)] if prepared.root is not None else []
        if prepared.python is not None:
            argv = [str(prepared.python), "-m", "taskmill.agent.run_task", prepared.kind.value, tid, *root]
            return spawner.spawn_cold(argv, env)
        if prepared.kind == TaskKind.function:
            return spawner.spawn_warm(tid, FUNCTION_TARGET, [tid], env)
        return spawner.spawn_warm(tid, CHECKOUT_TARGET if root else SCRIPT_TARGET, [tid, *root], env)

    def _finish(self, code: int, log: TaskLog) -> None:
        """Decide the status when the child ended without recording one."""
        with self._lock:
            aborted = self._abort_reason
        current = self._ctx.store.get_task(self.task_id)
        if current.status.is_final:
            self.outcome = f"{current.status.value} ({current.status_message})"
            return
        if aborted is not None:
            self._set(TaskStatus.stopped, aborted, log)
        elif code == 0:
            self._set(TaskStatus.completed, "process exited with code 0", log)
        elif code < 0:
            self._set(TaskStatus.failed, f"process killed by signal {_signal_name(-code)}", log)
        else:
            self._set(TaskStatus.failed, f"process exited with code {code}", log)

    def _fail(self, message: str, log: TaskLog) -> None:
        self._set(TaskStatus.failed, message, log)

    def _set(self, status: TaskStatus, message: str, log: TaskLog) -> None:
        level = "info" if status == TaskStatus.completed else "error"
        self.outcome = f"{status.value} ({message})"
        log.write(message, level)
        try:
            log.flush()
            self._ctx.store.set_status(
                self.task_id, status, message=message, reason=message, expected=(TaskStatus.in_progress,)
            )
        except (ConflictError, InvalidTransitionError):
            self.outcome = "ended by somebody else meanwhile (an abort)"  # theirs stands


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return str(signum)


def child_environment(base: Mapping[str, str], settings_env: Mapping[str, str]) -> dict[str, str]:
    """The environment of task processes: ``base`` (the agent's), without what belongs to one
    task or one run, plus ``settings_env`` (the agent's store settings and API key)."""
    drop = {
        "TASKMILL_TASK_ID",
        "TASKMILL_ATTEMPT",
        "TASKMILL_RESUME",
        "TASKMILL_RECOMPUTE",
        "TASKMILL_PIPELINE_MODE",
        "TASKMILL_PARENT_ARGV",
    }
    env = {k: v for k, v in base.items() if k not in drop}
    env.update(settings_env)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env
