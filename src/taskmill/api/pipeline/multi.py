"""``multi_instance_support``: each call of a decorated pipeline runs in a process of its own.

``True``: the call blocks and returns the pipeline's result. ``"parallel"``: the call returns None
at once; ``PipelineDecorator.wait_for_multi_pipelines()`` returns the results in call order.
The pipeline function (with its components) travels to the child with cloudpickle, so it may
live in ``__main__``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from taskmill.api.session import PROCESS
from taskmill.errors import ExecutionError


class _Instance:
    def __init__(self, proc: subprocess.Popen[bytes], folder: Path) -> None:
        self.proc = proc
        self.folder = folder

    def result(self) -> Any:
        import cloudpickle

        code = self.proc.wait()
        out = self.folder / "result.pkl"
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
    payload = (inner, run, args, kwargs, PROCESS.decorator_mode)
    (folder / "call.pkl").write_bytes(cloudpickle.dumps(payload))
    env = {**os.environ, **PROCESS.session().settings.to_env()}
    proc = subprocess.Popen([sys.executable, "-m", "taskmill.api.pipeline.multi", str(folder)], env=env)
    instance = _Instance(proc, folder)
    if parallel:
        PROCESS.multi_pipelines.append(instance)
        return None
    return instance.result()


def wait_all() -> list[Any]:
    """Results of the parallel instances started so far, in call order (blocking)."""
    instances, PROCESS.multi_pipelines = list(PROCESS.multi_pipelines), []
    return [i.result() for i in instances]


def _child(folder: Path) -> int:
    import cloudpickle

    from taskmill.api.pipeline.decorator import PipelineDecorator

    inner, run, args, kwargs, mode = cloudpickle.loads((folder / "call.pkl").read_bytes())
    PROCESS.decorator_mode = mode
    options = _options_of(run)
    try:
        pipe = PipelineDecorator(function=inner, **options["controller"])
        value = pipe._run_pipeline(args, kwargs, **options["run"])
        (folder / "result.pkl").write_bytes(cloudpickle.dumps((True, value)))
        return 0
    except BaseException as exc:
        (folder / "result.pkl").write_bytes(cloudpickle.dumps((False, f"{type(exc).__name__}: {exc}")))
        return 1


def _options_of(run: Callable[..., Any]) -> dict[str, Any]:
    options = getattr(run, "__taskmill_options__", None)
    if options is None:
        raise ExecutionError("not a decorated pipeline function")
    return dict(options)


if __name__ == "__main__":
    raise SystemExit(_child(Path(sys.argv[1])))
