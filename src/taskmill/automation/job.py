"""``ClearmlJob``: one launch of a task, as the automation services make them.

A job is a *clone* of a base task (or, with ``disable_clone_task``, the base task itself) with
parameter, configuration and definition overrides applied, which :meth:`ClearmlJob.launch` puts on
a queue for an agent. Everything is done through the public ``Task`` API; every call blocks until
the store has the change. Reading a job (status, metrics, elapsed time) reads the store each time.

A *pipeline* run is a task too: a job over a pipeline controller's run id clones the run (the
clone is a new run of the same pipeline) and its ``target_project`` becomes the pipeline's hidden
``<project>/.pipelines/<name>`` project.

Differences from ClearML: ``allow_caching`` is accepted and ignored (every job is a new task);
``task_overrides`` understands ``name``, ``comment``, ``tags``, ``script.<field>`` (``repository``,
``branch``, ``commit``/``version_num``, ``entry_point``, ``working_dir``, ``diff``,
``requirements``, ``binary``), ``container.image``/``container.arguments``/
``container.setup_shell_script`` and ``output.destination``; other keys raise ValueError.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from taskmill.api.task import Task
from taskmill.core.model import pipelines_project
from taskmill.core.states import TaskStatus
from taskmill.errors import QueueNotFoundError

_SCRIPT_FIELDS = {
    "repository": "repository",
    "branch": "branch",
    "commit": "commit",
    "version_num": "commit",
    "entry_point": "entry_point",
    "working_dir": "working_dir",
    "diff": "diff",
    "requirements": "requirements",
    "binary": "binary",
}
_CONTAINER = ("image", "arguments", "setup_shell_script")
_PENDING = (TaskStatus.created, TaskStatus.queued)


def task_id_of(value: Any) -> str:
    """The task id of a ``Task``, a ``PipelineController`` (its run) or an id string."""
    if isinstance(value, str):
        return value
    found = getattr(value, "id", None)
    if isinstance(found, str) and found:
        return found
    raise TypeError(f"expected a task id, a Task or a PipelineController, not {type(value).__name__}")


def resolve_target_project(base: Task, target_project: str | None) -> str | None:
    """Where a clone of ``base`` goes: ``target_project``, or for a pipeline run that project's
    hidden ``.pipelines/<name>`` sub-project (ClearML's rule)."""
    if not target_project:
        return None
    if "pipeline" in base.get_system_tags() and "/.pipelines/" not in target_project:
        return pipelines_project(target_project, base.name.split(" #")[0])
    return target_project


def apply_task_overrides(task: Task, overrides: Mapping[str, Any] | None) -> None:
    """Change ``task``'s definition from ClearML-style dotted keys (see the module docstring)."""
    if not overrides:
        return
    script: dict[str, str] = {}
    container: dict[str, Any] = {}
    for key, value in overrides.items():
        head, _, field = str(key).partition(".")
        if key == "name":
            task.set_name(str(value))
        elif key == "comment":
            task.set_comment(str(value))
        elif key == "tags":
            task.set_tags([str(v) for v in (value or ())])
        elif key == "output.destination":
            task.output_uri = str(value or "")
        elif head == "script" and field in _SCRIPT_FIELDS:
            script[_SCRIPT_FIELDS[field]] = "" if value is None else str(value)
        elif head == "container" and field in _CONTAINER:
            container[field] = value
        else:
            raise ValueError(
                f"task_overrides key '{key}' is not supported; use name, comment, tags, "
                f"output.destination, script.<{'|'.join(sorted(_SCRIPT_FIELDS))}> or "
                f"container.<{'|'.join(_CONTAINER)}>"
            )
    if script:
        task.set_script(**{**task.get_script_info().to_dict(), **script})
    if container:
        task.set_base_docker(
            docker_image=container.get("image"),
            docker_arguments=container.get("arguments"),
            docker_setup_bash_script=container.get("setup_shell_script"),
        )


def abort_task(task: Task, why: str = "aborted by an automation service") -> bool:
    """Stop ``task``: a queued one leaves its queue, a running one is marked stopped (its agent
    then ends the process). Does nothing to a task that already ended; True if it stopped it."""
    status = TaskStatus(task.status)
    if status.is_final:
        return False
    if status == TaskStatus.queued:
        Task.dequeue(task)
    task.mark_stopped(force=True, status_message=why)
    return True


class ClearmlJob:
    """A task made from a base task, to be launched on a queue and followed."""

    def __init__(
        self,
        base_task_id: str,
        parameter_override: Mapping[str, Any] | None = None,
        task_overrides: Mapping[str, Any] | None = None,
        configuration_overrides: Mapping[str, str | Mapping[str, Any]] | None = None,
        tags: Sequence[str] | None = None,
        parent: str | None = None,
        disable_clone_task: bool = False,
        allow_caching: bool = False,
        target_project: str | None = None,
        output_uri: str | bool | None = None,
        enable_local_imports: bool = True,
        name: str | None = None,
        comment: str | None = None,
        **kwargs: Any,
    ) -> None:
        """Create the job's task now (a draft clone, overrides applied); nothing is queued yet.

        ``parameter_override`` maps ``Section/name`` keys to values (their types are kept).
        Raises TaskNotFoundError for an unknown base task, ValueError for unknown overrides.
        """
        base = Task.get_task(task_id=task_id_of(base_task_id))
        self._reuse = bool(disable_clone_task)
        if self._reuse:
            self._task = base
        else:
            self._task = Task.clone(
                base,
                name=name,
                comment=comment,
                parent=parent,
                project=resolve_target_project(base, target_project),
            )
        task = self._task
        if parameter_override:
            task.update_parameters(dict(parameter_override))
        for config_name, value in (configuration_overrides or {}).items():
            if isinstance(value, str):
                task.set_configuration_object(config_name, config_text=value)
            else:
                task.set_configuration_object(config_name, config_dict=value)
        apply_task_overrides(task, task_overrides)
        if tags:
            task.add_tags([str(t) for t in tags])
        if output_uri is not None:
            task.output_uri = output_uri
        self._launched_at: float | None = None
        self._queue: str | None = None

    # -- identity ----------------------------------------------------------------------------

    @property
    def task(self) -> Task:
        """The job's task."""
        return self._task

    def task_id(self) -> str:
        """The job's task id."""
        return self._task.id

    def worker(self) -> str | None:
        """The agent that runs (or ran) the job, None before that."""
        return self._task.data.worker or None

    # -- running -----------------------------------------------------------------------------

    def launch(self, queue_name: str | None = None) -> bool:
        """Put the task on ``queue_name`` (``default`` when None); False if the queue does not
        exist (nothing is queued then). A reused base task is reset to draft first."""
        try:
            Task.enqueue(self._task, queue_name=queue_name or "default", force=self._reuse)
        except QueueNotFoundError:
            return False
        self._launched_at = time.time()
        self._queue = queue_name or "default"
        return True

    def abort(self) -> None:
        """Stop the job (see :func:`abort_task`)."""
        abort_task(self._task)

    def delete(self) -> bool:
        """Delete the job's task (and its artifacts)."""
        return self._task.delete()

    def wait(
        self,
        timeout: float | None = None,
        pool_period: float = 30.0,
        aborted_nonresponsive_as_running: bool = False,
    ) -> bool:
        """Block until the task ended (``timeout`` in minutes, as in ClearML); True if it did.
        Checks every ``pool_period`` seconds (at most 1 s here)."""
        deadline = None if timeout is None else time.monotonic() + timeout * 60.0
        while not self.is_stopped():
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(min(max(pool_period, 0.01), 1.0))
        return True

    # -- reading ------------------------------------------------------------------------------

    def status(self, force: bool = False) -> str:
        """The task's status value (``queued``, ``in_progress``, ``completed`` ...)."""
        return self._task.status

    def status_message(self) -> str:
        """The task's status message."""
        return self._task.get_status_message()

    def is_running(self) -> bool:
        """True while the task runs."""
        return self.status() == TaskStatus.in_progress

    def is_pending(self) -> bool:
        """True while the task waits (draft or queued)."""
        return TaskStatus(self.status()) in _PENDING

    def is_completed(self) -> bool:
        """True when the task ended well (completed or published)."""
        return TaskStatus(self.status()).succeeded

    def is_failed(self) -> bool:
        """True when the task failed."""
        return self.status() == TaskStatus.failed

    def is_aborted(self) -> bool:
        """True when the task was stopped (aborted)."""
        return self.status() == TaskStatus.stopped

    def is_stopped(self, aborted_nonresponsive_as_running: bool = False) -> bool:
        """True when the task ended, for any reason."""
        return TaskStatus(self.status()).is_final

    def started(self) -> bool:
        """True once the task left the queue (running or ended)."""
        return TaskStatus(self.status()) not in _PENDING

    def is_cached_task(self) -> bool:
        """Always False: every job is a new task (caching is not used)."""
        return False

    def elapsed(self) -> float:
        """Seconds the task has run (until it ended), -1 while it has not started."""
        record = self._task.data
        if record.started is None:
            return -1.0
        end = record.completed if record.status.is_final and record.completed else time.time()
        return max(0.0, end - record.started)

    def iterations(self) -> int:
        """The last iteration the task reported a scalar for, -1 before any."""
        scalars = self._task.get_reported_scalars()
        last = [int(x) for series in scalars.values() for s in series.values() for x in s["x"]]
        return max(last) if last else -1

    def get_metric(self, title: str, series: str) -> tuple[float | None, float | None, float | None]:
        """``(min, max, last)`` of scalar ``title/series`` (Nones while it has none)."""
        entry = self._task.get_last_scalar_metrics().get(title, {}).get(series)
        if not entry:
            return None, None, None
        return entry["min"], entry["max"], entry["last"]

    def get_console_output(self, number_of_reports: int = 1) -> list[str]:
        """The last lines of the task's console log."""
        return self._task.get_reported_console_output(number_of_reports=number_of_reports)

    def __repr__(self) -> str:
        return f"ClearmlJob(task={self._task.id!r}, status={self.status()!r})"
