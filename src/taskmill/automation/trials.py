"""How an optimization's trials run: on a queue, as local processes, or as a function here.

Every trial is a task with the trial's parameters set, child of the optimization's task:

* :class:`QueueRunner` (``HyperParameterOptimizer.start()``): a clone of the base task (or
  pipeline run) put on the execution queue, for an agent;
* :class:`LocalRunner` (``start_locally()``, as ClearML): the clone's script run as a child
  process of this one, in this Python environment, attached to the clone (``TASKMILL_TASK_ID``);
* :class:`FunctionRunner` (``trial_function=``): ``trial_function(task, parameters)`` called on a
  thread of this process with a new task (a clone of the base task when there is one); it reports
  its objective through ``task.get_logger()``. The task ends completed when the function returns,
  failed when it raises.

Stopping a trial marks its task stopped; a local process is also terminated, a function thread
cannot be killed (it runs to its end, and its task stays stopped).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from taskmill.api.session import PROCESS
from taskmill.api.task import Task
from taskmill.automation.job import ClearmlJob, abort_task
from taskmill.core.states import TaskStatus, TaskTypes
from taskmill.errors import QueueNotFoundError

TrialFunction = Callable[[Task, dict[str, Any]], Any]
logger = logging.getLogger("taskmill.automation")


@dataclass
class Trial:
    """One trial: its parameters and task, and what was last read of it."""

    number: int
    parameters: dict[str, Any]
    task: Task
    status: str = TaskStatus.created.value
    iteration: int = -1
    values: list[float | None] = field(default_factory=list)
    started: float | None = None
    ended: float | None = None
    elapsed: float = 0.0
    pruned: bool = False
    handle: Any = None  #: the process or thread running it (local and function runners)

    @property
    def id(self) -> str:
        """The trial's task id."""
        return self.task.id

    @property
    def done(self) -> bool:
        """True once the trial's task ended."""
        return TaskStatus(self.status).is_final


@dataclass
class TrialSpec:
    """What every trial task gets, besides its parameters."""

    base_task_id: str | None
    project: str | None
    parent: str | None
    tags: Sequence[str]


class Runner:
    """Starts and stops trials."""

    def __init__(self, spec: TrialSpec) -> None:
        """Trials are made from ``spec``."""
        self.spec = spec

    def _task(self, name: str, parameters: dict[str, Any]) -> Task:
        spec = self.spec
        if spec.base_task_id:
            job = ClearmlJob(
                base_task_id=spec.base_task_id,
                parameter_override=parameters,
                tags=list(spec.tags),
                parent=spec.parent,
                target_project=spec.project,
                name=name,
                comment="\n".join(f"{k}={parameters[k]}" for k in sorted(parameters)),
            )
            return job.task
        task = Task.create(
            project_name=spec.project or "default", task_name=name, task_type=TaskTypes.training
        )
        task.update_parameters(parameters)
        task.add_tags(list(spec.tags))
        if spec.parent:
            task.set_parent(spec.parent)
        return task

    def start(self, number: int, name: str, parameters: dict[str, Any]) -> Trial:
        """Create the trial's task and start it (blocking until it is queued or started)."""
        raise NotImplementedError

    def poll(self, trial: Trial) -> None:
        """Finish what the runner owns for an ended process or thread (nothing for queues)."""

    def stop(self, trial: Trial) -> None:
        """Stop a trial that has not ended."""
        abort_task(trial.task, "stopped by the hyper-parameter optimizer")

    def close(self, timeout: float) -> None:
        """The search ended: wait up to ``timeout`` seconds for what the runner started."""


class QueueRunner(Runner):
    """Trials are clones on a queue, run by agents."""

    def __init__(self, spec: TrialSpec, queue: str) -> None:
        """Trials go to ``queue``."""
        super().__init__(spec)
        if not spec.base_task_id:
            raise ValueError("trials on a queue need base_task_id (the task or pipeline run to clone)")
        self.queue = queue

    def start(self, number: int, name: str, parameters: dict[str, Any]) -> Trial:
        """Clone and enqueue. QueueNotFoundError names the queue and how to create it."""
        task = self._task(name, parameters)
        try:
            Task.enqueue(task, queue_name=self.queue)
        except QueueNotFoundError:
            task.delete()
            raise
        return Trial(number, parameters, task, status=TaskStatus.queued.value)


class LocalRunner(Runner):
    """Trials are clones whose script runs as a child process of this one."""

    def __init__(self, spec: TrialSpec) -> None:
        """Local trials need a base task with a script."""
        super().__init__(spec)
        if not spec.base_task_id:
            raise ValueError("start_locally() needs base_task_id (a task with a script)")

    @staticmethod
    def command(task: Task) -> tuple[list[str], str]:
        """``(argv, working folder)`` that run ``task``'s recorded script here."""
        script = task.data.script
        root = str(task.get_runtime_properties().get("script_root") or "")
        wd = script.working_dir or "."
        folder = Path(wd) if Path(wd).is_absolute() else Path(root or os.getcwd()) / wd
        entry = script.entry_point.strip()
        if not entry:
            raise ValueError(
                f"task {task.id} records no script to run; create it with Task.create(script=...)"
            )
        if entry.startswith("-m "):
            return [sys.executable, "-m", entry[3:].strip()], str(folder)
        return [sys.executable, str(folder / entry)], str(folder)

    def start(self, number: int, name: str, parameters: dict[str, Any]) -> Trial:
        """Clone and run the clone's script in a child process (non-blocking)."""
        task = self._task(name, parameters)
        argv, cwd = self.command(task)
        env = {**os.environ, **PROCESS.session().settings.to_env(), "TASKMILL_TASK_ID": task.id}
        process = subprocess.Popen(
            argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        return Trial(number, parameters, task, status=TaskStatus.created.value, handle=process)

    def poll(self, trial: Trial) -> None:
        """Record the end of a process whose script did not end its task itself."""
        process = trial.handle
        if not isinstance(process, subprocess.Popen) or process.poll() is None:
            return
        trial.handle = None
        status = TaskStatus(trial.task.status)
        if status.is_final:
            return
        if process.returncode == 0:
            trial.task.mark_completed(force=True, status_message="process exited")
        else:
            trial.task.mark_failed(
                force=True,
                status_reason=f"exit code {process.returncode}",
                status_message=f"trial process exited with code {process.returncode}",
            )

    def stop(self, trial: Trial) -> None:
        """Terminate the process and mark the task stopped."""
        process = trial.handle
        if isinstance(process, subprocess.Popen) and process.poll() is None:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
        trial.handle = None
        super().stop(trial)


class FunctionRunner(Runner):
    """Trials are calls of a function on threads of this process."""

    def __init__(self, spec: TrialSpec, function: TrialFunction) -> None:
        """``function(task, parameters)`` runs each trial."""
        super().__init__(spec)
        self.function = function
        self._threads: list[threading.Thread] = []

    def close(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds (in all) for stopped trials' functions to return: a
        function that checks ``task.status`` ends soon after its trial is stopped."""
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def start(self, number: int, name: str, parameters: dict[str, Any]) -> Trial:
        """Create the task, mark it running, call the function on a thread (non-blocking)."""
        task = self._task(name, parameters)
        task.mark_started(force=True)
        trial = Trial(number, parameters, task, status=TaskStatus.in_progress.value)
        thread = threading.Thread(
            target=self._run, args=(task, dict(parameters)), name=f"taskmill-trial-{number}"
        )
        trial.handle = thread
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()
        return trial

    def _run(self, task: Task, parameters: dict[str, Any]) -> None:
        try:
            self.function(task, parameters)
        except Exception as exc:
            task.get_logger().report_text(traceback.format_exc(), print_console=False)
            task.flush()
            if not TaskStatus(task.status).is_final:
                task.mark_failed(
                    force=True, status_reason=f"{type(exc).__name__}: {exc}", status_message="failed"
                )
            return
        task.flush()
        if not TaskStatus(task.status).is_final:
            task.mark_completed(force=True, status_message="trial function returned")
