"""``multi_instance_support``: each call of a decorated pipeline runs in a process of its own.

``True``: the call blocks and returns the pipeline's result. ``"parallel"``: the call returns None
at once; ``PipelineDecorator.wait_for_multi_pipelines()`` returns the results in call order.
The pipeline function (with its components) travels to the child with cloudpickle, so it may
live in ``__main__``. This module is the calling side; the child's entry point is
:mod:`taskmill.api.pipeline.multi_child`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from taskmill.api.pipeline.context import DECORATOR
from taskmill.api.session import PROCESS
from taskmill.errors import ExecutionError

#: the module a pipeline instance process runs (``python -m``), with the call folder as argument
CHILD_MODULE: Final = "taskmill.api.pipeline.multi_child"
#: files in the call folder: the pickled call, and the pickled ``(ok, value)`` the child leaves
CALL_FILE: Final = "call.pkl"
RESULT_FILE: Final = "result.pkl"


class PipelineInstance:
    """A pipeline call running in a child process."""

    def __init__(self, proc: subprocess.Popen[bytes], folder: Path) -> None:
        self.proc = proc
        self.folder = folder

    def result(self) -> Any:
        """The call's return value, once the child exited (blocking); ExecutionError when the
        call failed or the child left no result."""
        import cloudpickle

        code = self.proc.wait()
        out = self.folder / RESULT_FILE
        if not out.exists():
            raise ExecutionError(f"pipeline instance process exited with code {code} without a result")
        ok, value = cloudpickle.loads(out.read_bytes())
        if not ok:
            raise ExecutionError(f"pipeline instance failed: {value}")
        return value


def run_instance(
    run: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], *, parallel: bool
) -> Any:
    """Start the pipeline call in a child process (see the module docstring)."""
    import cloudpickle

    folder = Path(tempfile.mkdtemp(prefix="taskmill-multi-"))
    inner = getattr(run, "__wrapped__", run)
    main_spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    # the child records the caller's program as the run's script (what an agent re-runs)
    entry = (list(sys.argv), getattr(main_spec, "name", None))
    switches = {
        "mode": DECORATOR.mode,
        "default_queue": DECORATOR.default_queue,
        "launcher": DECORATOR.launcher,
    }
    payload = (inner, run, args, kwargs, switches, entry)
    (folder / CALL_FILE).write_bytes(cloudpickle.dumps(payload))
    env = {**os.environ, **PROCESS.session().settings.to_env()}
    proc = subprocess.Popen([sys.executable, "-m", CHILD_MODULE, str(folder)], env=env)
    instance = PipelineInstance(proc, folder)
    if parallel:
        DECORATOR.add_instance(instance)
        return None
    return instance.result()


def wait_all() -> list[Any]:
    """Results of the parallel instances started so far, in call order (blocking)."""
    return [i.result() for i in DECORATOR.take_instances()]
