"""Running one pipeline step's task: in this process (debug mode) or as a child process.

Both paths read the step's arguments the same way (``kwargs/``, ``kwargs_artifacts/``), call the
function, store its outputs (``return/`` parameters or artifacts) and end the task completed or
failed with the traceback in its log. The child entry points (:func:`run_function`,
:func:`run_script`) are what launchers name as their targets.
"""

from __future__ import annotations

import json
import os
import runpy
import sys
import time
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final

from taskmill.api.capture import module_of, script_folder
from taskmill.api.reporter import Reporter
from taskmill.api.session import PROCESS, Session
from taskmill.api.task import Task
from taskmill.core.states import TaskStatus
from taskmill.core.stored import FUNCTION_PAYLOAD, STEP_TARGETS
from taskmill.engine.backend import Backend
from taskmill.engine.function_io import read_arguments, split_returns, store_outputs
from taskmill.engine.steps import load_function
from taskmill.errors import ConflictError

#: modules a step process needs, imported once by the warm worker before it forks steps
STEP_PRELOAD: Final = (
    __name__,
    "taskmill.store.sql.store",
    "taskmill.artifacts.storage",
    "cloudpickle",
)

#: The step process entry points, by step kind (:data:`taskmill.core.stored.STEP_TARGETS`, which
#: names this module's ``run_function`` and ``run_script``).
PROCESS_TARGETS: Final[Mapping[str, str]] = STEP_TARGETS


def backend_for(session: Session) -> Backend:
    """An engine backend over a session (task ids become API ``Task`` objects)."""
    return Backend(
        store=session.store, artifacts=session.artifacts, task_factory=lambda tid: Task.get_task(task_id=tid)
    )


def execute_in_process(
    backend: Backend,
    session: Session,
    task_id: str,
    *,
    function: Callable[..., Any],
    return_names: tuple[str, ...],
    serialize: Callable[[Any], bytes] | None = None,
    deserialize: Callable[[bytes], Any] | None = None,
    output_uri: str | None = None,
    started: bool = False,
) -> None:
    """Run a function step as a plain call on this thread, fully tracked. Never raises for the
    step's own errors: they end the task failed (with the traceback in its log).

    ``started``: the caller created the task already running (the in-process launcher), so
    its row is read instead of trying the compare-and-set from *created* that would fail."""
    store = backend.store
    record = None
    if not started:
        try:  # without reading the row first: it was created this instant
            record = store.set_status(
                task_id,
                TaskStatus.in_progress,
                message="running in-process",
                worker="inline",
                expected=(TaskStatus.created,),
            )
        except ConflictError:
            pass
    if record is None:
        record = store.get_task(task_id)
        if record.status != TaskStatus.in_progress:
            record = store.set_status(
                task_id, TaskStatus.in_progress, message="running in-process", worker="inline"
            )
    task = Task(record, session)
    reporter = Reporter(store, task_id, interval=0.2)
    task._rep = reporter  # the step's logger and console share one reporter
    t_token = PROCESS.step_task.set(task)
    r_token = PROCESS.step_reporter.set(reporter)
    try:
        args, kwargs = read_arguments(backend, task_id, deserialize)
        result = function(*args, **kwargs)
        outputs = split_returns(result, return_names, record.name)
        reporter.close()  # the step's lines are in before it shows as completed
        store_outputs(
            backend,
            task_id,
            outputs,
            serialize=serialize,
            output_uri=output_uri,
            keep_in_memory=True,
            complete=True,
        )
    except BaseException as exc:  # the step's failure is recorded, the run goes on
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        for line in text.rstrip("\n").split("\n"):
            reporter.log(line, "error", "stderr")
        reporter.close()
        if not store.get_task(task_id).status.is_final:
            store.set_status(
                task_id, TaskStatus.failed, message="step raised", reason=f"{type(exc).__name__}: {exc}"
            )
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        return
    finally:
        PROCESS.step_task.reset(t_token)
        PROCESS.step_reporter.reset(r_token)


def run_function(task_id: str) -> int:
    """Child-process entry: run function step ``task_id`` (``TASKMILL_TASK_ID`` is set too)."""
    os.environ["TASKMILL_TASK_ID"] = task_id
    parent_argv = os.environ.get("TASKMILL_PARENT_ARGV")
    if parent_argv:
        sys.argv = list(json.loads(parent_argv))
    task = Task.init()  # attaches to the step task: console capture, exit status
    try:
        session = PROCESS.session()
        backend = backend_for(session)
        payload = task.get_configuration_object(FUNCTION_PAYLOAD)
        if payload is None:
            raise RuntimeError(f"task {task_id} is not a function step (no {FUNCTION_PAYLOAD} configuration)")
        function, return_names, serialize, deserialize = load_function(payload)
        args, kwargs = read_arguments(backend, task_id, deserialize)
        PROCESS.step_task.set(task)  # components it calls become tracked steps (nested), as in-process
        result = function(*args, **kwargs)
        outputs = split_returns(result, return_names, task.name)
        own_uri = task.data.output_uri or None
        store_outputs(backend, task_id, outputs, serialize=serialize, output_uri=own_uri)
    except BaseException as exc:  # recorded on the task; the exit code says it failed
        task._finish(exc)
        return 1
    task.close()
    return 0


def run_script(task_id: str) -> int:
    """Child-process entry: run a task step's script (its recorded entry point) as ``__main__``."""
    os.environ["TASKMILL_TASK_ID"] = task_id
    session = PROCESS.session()
    record = session.store.get_task(task_id)
    script = record.script
    folder = script_folder(script, str(record.runtime.get("script_root") or ""))
    module = module_of(script.entry_point)
    if folder is None and module is not None:
        # a module found on sys.path (an installed package) runs from anywhere
        wd = Path(script.working_dir)
        folder = wd if wd.is_absolute() and wd.is_dir() else Path.cwd()
    if folder is None:
        raise FileNotFoundError(
            f"task {task_id}: its script {script.entry_point} (working dir '{script.working_dir}', "
            f"repository '{script.repository}') does not exist here; local runs execute the recorded "
            "entry point from the checkout it was recorded in"
        )
    started = time.time()
    try:
        if module is not None:
            run_module_main(folder, module)
        else:
            entry = (folder / script.entry_point).resolve()
            os.chdir(entry.parent if script.working_dir in ("", ".") else folder)
            sys.argv = [str(entry)]
            sys.path.insert(0, str(entry.parent))
            runpy.run_path(str(entry), run_name="__main__")
    except SystemExit as exc:
        if exc.code not in (None, 0):
            return _fail_script(session, task_id, exc)
    except BaseException as exc:  # recorded on the task; the exit code says it failed
        return _fail_script(session, task_id, exc)
    task = Task.current_task()
    if task is not None:
        task.close()
    elif not session.store.get_task(task_id).status.is_final:
        # the script never called Task.init (or closed its task already without ending it)
        session.store.set_status(
            task_id, TaskStatus.completed, message=f"script ran in {time.time() - started:.1f}s", force=True
        )
    return 0


def run_module_main(workdir: Path, module: str) -> None:
    """Run ``module`` as ``python -m module`` would from ``workdir``: that folder first on
    ``sys.path`` and as the current directory, the module as ``__main__``. Blocking; exceptions
    (``SystemExit`` included) propagate to the caller."""
    os.chdir(workdir)
    sys.argv = [module]
    sys.path.insert(0, str(workdir))
    runpy.run_module(module, run_name="__main__", alter_sys=True)


def _fail_script(session: Session, task_id: str, exc: BaseException) -> int:
    task = Task.current_task()
    if task is not None:
        task._finish(exc)
    else:
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        rep = Reporter(session.store, task_id)
        for line in text.rstrip("\n").split("\n"):
            rep.log(line, "error", "stderr")
        rep.close()
        session.store.set_status(
            task_id,
            TaskStatus.failed,
            message="script raised",
            reason=f"{type(exc).__name__}: {exc}",
            force=True,
        )
    return 1
