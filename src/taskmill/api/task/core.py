"""``Task``: one class composed of its parts, plus running a task in this process.

Each part is a mixin over :class:`~taskmill.api.task.handle.TaskHandle` (identity, fields, status):
:mod:`~taskmill.api.task.lookup` (create, find, clone, queues) on top of
:mod:`~taskmill.api.task.metadata` and :mod:`~taskmill.api.task.parameters`,
:mod:`~taskmill.api.task.outputs` (artifacts, models, reports read back) and
:mod:`~taskmill.api.task.process` (console and script capture). This module adds what needs all of
them: ``Task.init`` (the process's main task), ``current_task``, ``close``, ``execute_remotely``,
``delete`` and ending the task with the process.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

from taskmill.api.session import PROCESS
from taskmill.api.task.compat import TaskCompat
from taskmill.api.task.control import TaskControl
from taskmill.api.task.handle import current_user
from taskmill.api.task.hooks import connect_parsed_args, install_argparse_hook, install_exit_hooks
from taskmill.api.task.outputs import TaskOutputs
from taskmill.api.task.process import TaskProcess
from taskmill.api.task.training import TaskTraining, seed_everything
from taskmill.core.model import TaskRecord, new_id
from taskmill.core.states import TaskStatus
from taskmill.core.states import TaskTypes as TaskTypesEnum

#: the module that holds framework bindings; not in ``sys.modules`` means none was ever made
_BINDING_MODULE = "taskmill.api.binding.hook"


class Task(TaskControl, TaskTraining, TaskOutputs, TaskProcess, TaskCompat):
    """A tracked unit of work: a script run, a pipeline step, or a pipeline controller."""

    TaskTypes = TaskTypesEnum
    TaskStatusEnum = TaskStatus

    @classmethod
    def init(
        cls,
        project_name: str | None = None,
        task_name: str | None = None,
        task_type: TaskTypesEnum | str = TaskTypesEnum.training,
        tags: Sequence[str] | None = None,
        reuse_last_task_id: bool | str = True,
        continue_last_task: bool | str | int = False,
        output_uri: str | bool | None = None,
        auto_connect_arg_parser: bool | Mapping[str, bool] = True,
        auto_connect_frameworks: bool | Mapping[str, Any] = True,
        auto_connect_streams: bool | Mapping[str, bool] = True,
        auto_resource_monitoring: bool | Mapping[str, Any] = True,
        deferred_init: bool = False,
    ) -> Task:
        """Create the main task of this process and start tracking it (non-blocking, ~ms).

        Records the script, git repository, commit, uncommitted diff and installed packages (in
        the background), and copies stdout/stderr into the task's console log. The task ends
        *completed* when the process exits normally and *failed* (with the traceback in its log)
        on an uncaught exception. Calling it again returns the same task.

        Under an agent or local step launcher (``TASKMILL_TASK_ID`` set) it attaches to that task
        instead, and ``connect()`` then reads the stored (possibly overridden) values.

        As in ClearML, the random generators already imported (Python's, NumPy's, PyTorch's) are
        seeded with ``Task.get_random_seed()`` (1337 unless ``Task.set_random_seed`` changed it).
        """
        with PROCESS.lock:
            if PROCESS.main_task is not None:
                return cast(Task, PROCESS.main_task)  # only Task.init sets it
            session = PROCESS.session()
            store = session.store
            settings = session.settings
            if settings.task_id:
                record = store.get_task(settings.task_id)
                if record.status != TaskStatus.in_progress:
                    record = store.set_status(record.id, TaskStatus.in_progress, message="started")
                task = cls(record, session)
                task._attached = True
            else:
                argv0 = sys.argv[0] if sys.argv and sys.argv[0] else "interactive"
                name = task_name or Path(argv0).stem or "untitled"
                now = time.time()
                uri = (
                    settings.artifacts_uri
                    if output_uri is True
                    else (output_uri or settings.output_uri or "")
                )
                record = store.create_task(
                    TaskRecord(
                        id=new_id(),
                        name=name,
                        project=project_name or "default",
                        task_type=TaskTypesEnum(task_type),
                        status=TaskStatus.in_progress,
                        status_message="started",
                        tags=tuple(tags or ()),
                        user=current_user(),
                        output_uri=str(uri),
                        worker="local",
                        created=now,
                        started=now,
                    )
                )
                task = cls(record, session)
                task._start_script_capture()
            if auto_connect_streams:
                task._capture_console()
            install_exit_hooks()
            # Off with nothing bound yet: the bindings package is not even imported (~10 ms saved).
            if auto_connect_frameworks is not False or _BINDING_MODULE in sys.modules:
                from taskmill.api.binding import bind_frameworks  # lazy: imports no framework

                bind_frameworks(auto_connect_frameworks)  # patches imported frameworks, hooks later imports
            seed_everything(PROCESS.random_seed)
            PROCESS.main_task = task
            connect_parsed_args(task, bool(auto_connect_arg_parser))
            return task

    @classmethod
    def current_task(cls) -> Task | None:
        """The task running here: the pipeline step running in this thread (in-process steps),
        else the main task of this process (``Task.init``), else None."""
        # the context holds tasks as TaskLike (it cannot import Task); only Task objects are put there
        return cast("Task | None", PROCESS.current_task())

    @staticmethod
    def running_locally() -> bool:
        """False when this process runs a task for an agent or step launcher."""
        return not os.environ.get("TASKMILL_TASK_ID")

    # == ending ================================================================================

    def close(self) -> None:
        """Stop tracking: flush reports, restore the console, and complete a running main task."""
        if self._closed:
            return
        self._closed = True
        self._join_capture()
        for name, (obj, metadata) in list(self._registered.items()):
            self.upload_artifact(name, obj, metadata=metadata)
        self._release_console()
        if self._rep is not None:
            self._rep.close()
        if self._fresh().status == TaskStatus.in_progress:
            self._set(TaskStatus.completed, message="completed")
            if self._publish_when_done:
                self._set(TaskStatus.published, message="published on completion")
        with PROCESS.lock:
            if PROCESS.main_task is self:
                PROCESS.main_task = None
                if _BINDING_MODULE in sys.modules:  # never imported: nothing is bound
                    from taskmill.api.binding import release_frameworks

                    release_frameworks()

    def execute_remotely(
        self, queue_name: str | None = None, clone: bool = False, exit_process: bool = True
    ) -> Task | None:
        """Stop running here and hand the task to an agent.

        Locally: the task (or a clone) becomes a draft, is enqueued on ``queue_name`` when given,
        and the process exits (``exit_process``). Under an agent: does nothing and returns None,
        so the script goes on.
        """
        if self._attached:
            return None
        self._join_capture()
        self.flush()
        target: Task = self
        if clone:
            target = Task.clone(self)
        else:
            self._release_console()
            if self._rep is not None:
                self._rep.close()
            if self._fresh().status != TaskStatus.created:
                self._set(TaskStatus.created, message="handed over for remote execution", force=True)
        if queue_name:
            Task.enqueue(target, queue_name=queue_name)
        if exit_process:
            self._closed = True
            with PROCESS.lock:
                PROCESS.main_task = None
            sys.stdout.flush()
            sys.exit(0)
        return target

    def delete(
        self,
        delete_artifacts_and_models: bool = True,
        skip_models_used_by_other_tasks: bool = True,
        raise_on_error: bool = False,
        callback: Callable[[str, str], bool] | None = None,
    ) -> bool:
        """Delete the task and its records (and artifact bytes when asked). ``callback(kind, uri)``
        is called for each stored file before it is deleted (``kind`` is ``artifact``); returning
        False keeps that file. Models' weights are artifacts of the task, so they go with it
        (``skip_models_used_by_other_tasks`` is accepted and ignored: other tasks' input models
        keep their records but lose the bytes)."""
        if delete_artifacts_and_models:
            for rec in self._store().get_artifacts(self.id):
                if callback is not None and callback("artifact", rec.uri) is False:
                    continue
                self._session.artifacts.delete(rec)
        self._store().delete_task(self.id)
        return True

    def _finish(self, exc: BaseException | None) -> None:
        """End of the process: failed with the traceback on ``exc``, else completed."""
        if self._closed:
            return
        try:
            if exc is not None and self._fresh().status == TaskStatus.in_progress:
                text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
                self._release_console()
                rep = self._reporter()
                for line in text.rstrip("\n").split("\n"):
                    rep.log(line, "error", "stderr")
                rep.close()
                self._closed = True
                self._set(
                    TaskStatus.failed, message="uncaught exception", reason=f"{type(exc).__name__}: {exc}"
                )
                self._join_capture()
                return
            self.close()
        except Exception as err:
            print(f"taskmill: could not finalise task {self.id}: {err}", file=sys.__stderr__)

    def _interrupt(self) -> None:
        """Ctrl-C ended the process: the task is stopped (shown as Aborted), not failed."""
        self._release_console()
        self.mark_stopped(force=True, status_message="interrupted (KeyboardInterrupt)")
        self._closed = True

    def __repr__(self) -> str:
        return f"<Task id={self.id} name={self._record.name!r} project={self._record.project!r}>"


# At import rather than in Task.init: scripts often call parse_args() first, and ClearML still
# records (and under an agent restores) those values. The hook only keeps namespaces until then.
install_argparse_hook()
