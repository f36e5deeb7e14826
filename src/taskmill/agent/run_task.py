"""The process side of an agent's task: what runs inside the task's own process.

Targets (forked from the agent's warm worker, ``module:function`` with string arguments):

* ``taskmill.api.pipeline.step_main:run_function TASK_ID``: a pipeline function step;
* :func:`script_main` ``TASK_ID``: a script where it was recorded (``step_main.run_script``);
* :func:`checkout_main` ``TASK_ID ROOT``: a script from the agent's checkout of its repository.

In another interpreter (a task venv) the same entry points run as
``python -m taskmill.agent.run_task KIND TASK_ID [ROOT]``. ``TASKMILL_TASK_ID`` and the store
settings come in the environment. Scripts are attached to their task (``Task.init``) before they
start, so their console reaches the task's log even when they never call ``Task.init``
themselves (when they do, they get the same task).
"""

from __future__ import annotations

import os
import runpy
import sys
from pathlib import Path

from taskmill.api.capture import module_of
from taskmill.api.pipeline.step_main import run_function, run_module_main, run_script
from taskmill.api.task import Task
from taskmill.core.model import ScriptInfo


def script_main(task_id: str) -> int:
    """Run the task's recorded script where it was recorded; returns the exit code."""
    _attach(task_id)
    return run_script(task_id)


def checkout_main(task_id: str, root: str) -> int:
    """Run the task's script from the checkout ``root`` (its repository at its commit, diff
    applied); returns the exit code. The task ends completed, or failed on an exception (with the
    traceback in its log) or a non-zero ``sys.exit``."""
    task = _attach(task_id)
    script = task.data.script
    workdir = _workdir(Path(root), script)
    sys.path.insert(0, root)  # the repository's own packages import from its root, as in a clone
    try:
        _execute(task_id, workdir, script.entry_point.strip())
    except SystemExit as exc:  # other exceptions reach sys.excepthook: the Task API fails the task
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if isinstance(exc.code, str):
            sys.stderr.write(f"{exc.code}\n")  # sys.exit("message") prints it, as Python does
        if code != 0:
            task.mark_failed(
                status_reason=f"SystemExit: {exc.code}", status_message=f"script exited with code {code}"
            )
            return code
    task.close()
    return 0


def _execute(task_id: str, workdir: Path, entry: str) -> None:
    """Run ``entry`` (a file relative to ``workdir``, or ``-m module``) as ``__main__`` in ``workdir``."""
    module = module_of(entry)
    if module is not None:
        run_module_main(workdir, module)
        return
    os.chdir(workdir)
    path = (workdir / entry).resolve()
    if not path.is_file():
        raise FileNotFoundError(
            f"task {task_id}: its entry point {entry!r} is not in the checkout at {workdir}; "
            "check the task's script settings (entry point, working directory)"
        )
    sys.argv = [str(path)]
    sys.path.insert(0, str(path.parent))
    runpy.run_path(str(path), run_name="__main__")


def _attach(task_id: str) -> Task:
    os.environ["TASKMILL_TASK_ID"] = task_id
    return Task.init()


def _workdir(root: Path, script: ScriptInfo) -> Path:
    """The folder a checked-out script runs in: ``root/working_dir`` (``.`` or empty: ``root``)."""
    wd = script.working_dir.strip()
    if not wd or wd == "." or Path(wd).is_absolute():
        return root  # an absolute folder was recorded outside the repository: the checkout replaces it
    return root / wd


def main(argv: list[str] | None = None) -> int:
    """``python -m taskmill.agent.run_task KIND TASK_ID [ROOT]`` (KIND: function, script, controller)."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) not in (2, 3) or args[0] not in ("function", "script", "controller"):
        sys.stderr.write(
            "usage: python -m taskmill.agent.run_task function|script|controller TASK_ID [ROOT]\n"
        )
        return 2
    kind, task_id = args[0], args[1]
    if kind == "function":
        return run_function(task_id)
    if len(args) == 3:
        return checkout_main(task_id, args[2])
    return script_main(task_id)


if __name__ == "__main__":
    sys.exit(main())
