"""Run one task to completion here and exit: ``taskmill agent execute TASK_ID``.

What a Kubernetes pod, an ``sbatch`` script or a Ray task runs for a task that something else
scheduled (ClearML's ``clearml-agent execute --id``). The task must be queued or a draft; it is
taken with a compare-and-set (queued -> in_progress, or created -> in_progress), so two
executors, or an executor and an agent serving its queue, never both run it. Then, as under an
agent (:class:`~taskmill.agent.execution.TaskExecution`): the checkout of its recorded commit and
its virtualenv when its packages differ, its process, heartbeats under a worker record of its
own (so a dead executor's task is failed by the reaper like a dead agent's), its log, the final
status (a process that ended without recording one fails with its exit code) and its artifacts
(uploaded by the task process itself). Setting the task ``stopped`` (the UI, ``taskmill tasks
stop``) kills it; so does :meth:`TaskExecutor.request_stop` (SIGTERM: a preempted job), which
marks it ``stopped`` with the reason first.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from taskmill import __version__
from taskmill.agent.children import Spawner
from taskmill.agent.environment import EnvironmentBuilder, installed_distributions
from taskmill.agent.execution import ExecutionContext, TaskExecution, child_environment
from taskmill.agent.heartbeat import Heartbeat
from taskmill.agent.venvs import taskmill_requirement
from taskmill.agent.watcher import EventWatcher
from taskmill.agent.worker import DEFAULT_PRELOAD
from taskmill.config import Settings
from taskmill.core.model import TaskRecord
from taskmill.core.states import TaskStatus
from taskmill.errors import ConflictError, ExecutionError, StoreError
from taskmill.store.base import TaskStore
from taskmill.types import JSONValue

#: exit code when the task ran and did not complete
EXIT_FAILED = 1
#: exit code when the task could not be taken (not queued nor a draft, or taken by someone else)
EXIT_NOT_TAKEN = 3


def default_executor_id(task_id: str) -> str:
    """``<hostname>:execute:<task id prefix>``: the worker record an execution heartbeats under."""
    return f"{socket.gethostname()}:execute:{task_id[:8]}"


@dataclass(frozen=True, slots=True)
class ExecuteOptions:
    """How one task is executed (the ``taskmill agent execute`` options)."""

    worker_id: str
    cache_dir: Path  #: checkouts and venvs (``$TASKMILL_HOME/agent``), shared with agents
    child_env: Mapping[str, str] = field(default_factory=dict)  #: store settings for the task process
    heartbeat: float = 2.0
    dead_after: float = 10.0
    cwd: str | None = None
    #: a glue agent's id: also take the task when it is in_progress, claimed by that agent
    #: (``taskmill agent --backend slurm`` claims a task, then submits a job executing it)
    claimed_by: str | None = None


def take_task(store: TaskStore, task_id: str, worker_id: str, *, claimed_by: str | None = None) -> TaskRecord:
    """Move a queued or draft task (or one ``claimed_by`` claimed) to ``in_progress`` for
    ``worker_id`` (compare-and-set). ExecutionError saying why when it cannot be taken."""
    record = store.get_task(task_id)
    handed_over = (
        claimed_by is not None and record.status == TaskStatus.in_progress and record.worker == claimed_by
    )
    if not handed_over and record.status not in (TaskStatus.queued, TaskStatus.created):
        raise ExecutionError(
            f"task {task_id} is {record.status.value}: only a queued or draft task can be executed "
            f"(reset it first with `taskmill tasks reset {task_id}`)"
        )
    try:
        return store.set_status(
            task_id,
            TaskStatus.in_progress,
            message=f"executed by {worker_id}",
            expected=(record.status,),
            worker=worker_id,
        )
    except ConflictError as exc:
        raise ExecutionError(f"task {task_id} was taken by someone else meanwhile: {exc}") from exc


class TaskExecutor:
    """Executes one task (see the module docstring). Construct, then :meth:`run` once."""

    def __init__(
        self,
        store: TaskStore,
        task_id: str,
        options: ExecuteOptions,
        *,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._store = store
        self._task_id = task_id
        self._opts = options
        self._environ = os.environ if environ is None else environ
        self._execution: TaskExecution | None = None
        self._stop_reason: str | None = None
        self._lock = threading.Lock()
        self._ended = threading.Event()
        self.outcome = "not run"

    def request_stop(self, reason: str) -> None:
        """Stop the task (marked ``stopped`` with ``reason``). Non-blocking; any thread."""
        with self._lock:
            self._stop_reason = self._stop_reason or reason
            execution = self._execution
        if execution is not None:
            threading.Thread(target=execution.abort, args=(reason,), daemon=True).start()

    def run(self) -> int:
        """Take the task, run it to its final status and return the exit code: 0 when it
        completed, :data:`EXIT_FAILED` when it did not, :data:`EXIT_NOT_TAKEN` when it could not
        be taken (the reason on stderr). Blocking."""
        opts, store = self._opts, self._store
        try:
            record = take_task(store, self._task_id, opts.worker_id, claimed_by=opts.claimed_by)
        except ExecutionError as exc:
            self.outcome = str(exc)
            sys.stderr.write(f"taskmill agent execute: {exc}\n")
            return EXIT_NOT_TAKEN
        env = child_environment(self._environ, opts.child_env)
        preload = list(DEFAULT_PRELOAD)
        spawner = Spawner(env=env, preload=preload, sys_path=[opts.cwd or os.getcwd()], cwd=opts.cwd)
        builder = EnvironmentBuilder(opts.cache_dir, installed_distributions(), taskmill_requirement())
        ctx = ExecutionContext(store, opts.worker_id, spawner, builder)
        info = self._info()
        store.register_worker(opts.worker_id, (), info)
        heartbeat = Heartbeat(
            store,
            opts.worker_id,
            queues=(),
            info=info,
            interval=opts.heartbeat,
            dead_after=opts.dead_after,
            current_task=lambda: self._task_id,
        )
        watcher = EventWatcher(
            store, store.last_event_id(), on_queued=lambda: None, on_stopped=self._on_stopped
        )
        try:
            spawner.start()
            execution = TaskExecution(ctx, record, lambda e: self._ended.set())
            with self._lock:
                self._execution = execution
                stop = self._stop_reason
            watcher.start()
            heartbeat.start()
            execution.start()
            if stop is not None:
                execution.abort(stop)
            self._ended.wait()
            execution.join()
            self.outcome = execution.outcome
        finally:
            watcher.stop()
            heartbeat.stop()
            spawner.close()
            try:
                store.unregister_worker(opts.worker_id)
            except StoreError:
                pass  # reaped meanwhile: nothing to unregister
            watcher.join()
        return 0 if store.get_task(self._task_id).status.succeeded else EXIT_FAILED

    def _on_stopped(self, task_id: str) -> None:
        if task_id != self._task_id:
            return
        with self._lock:
            execution = self._execution
        if execution is not None:  # somebody stopped it: the store says so already
            threading.Thread(target=execution.abort, daemon=True).start()

    def _info(self) -> dict[str, JSONValue]:
        return {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "python": sys.version.split()[0],
            "taskmill": __version__,
            "mode": "execute",
            "slots": 1,
            "task": self._task_id,
        }


def execute_task(
    store: TaskStore, task_id: str, options: ExecuteOptions, *, environ: Mapping[str, str] | None = None
) -> int:
    """Run ``task_id`` to completion here; the exit code of :meth:`TaskExecutor.run`. Blocking."""
    return TaskExecutor(store, task_id, options, environ=environ).run()


def run_with_signals(
    settings: Settings, task_id: str, *, heartbeat: float = 2.0, claimed_by: str | None = None
) -> int:
    """Execute ``task_id`` with the store of ``settings``; SIGTERM or SIGINT (a cancelled or
    preempted job) stops the task. Returns the exit code of :meth:`TaskExecutor.run`. Blocking."""
    from taskmill.store.factory import open_store

    store = open_store(settings.store_url, settings.api_key or None)
    opts = ExecuteOptions(
        worker_id=default_executor_id(task_id),
        cache_dir=settings.home / "agent",
        child_env=settings.to_env(),
        heartbeat=heartbeat,
        dead_after=5 * heartbeat,
        cwd=os.getcwd(),
        claimed_by=claimed_by,
    )
    try:
        executor = TaskExecutor(store, task_id, opts)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(
                sig,
                lambda signum, frame: executor.request_stop(f"{signal.Signals(signum).name} (job cancelled)"),
            )
        return executor.run()
    finally:
        store.close()


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m taskmill.agent.execute_one TASK_ID [--claimed-by AGENT]``: ``taskmill agent
    execute`` without the CLI, with the store settings of the environment (``TASKMILL_*``)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m taskmill.agent.execute_one")
    parser.add_argument("task_id")
    parser.add_argument("--claimed-by", default=None)
    parser.add_argument("--heartbeat", type=float, default=2.0)
    args = parser.parse_args(argv)
    return run_with_signals(
        Settings.from_env(), args.task_id, heartbeat=args.heartbeat, claimed_by=args.claimed_by
    )


if __name__ == "__main__":
    sys.exit(main())
