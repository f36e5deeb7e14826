"""The child side of ``multi_instance_support``: ``python -m taskmill.api.pipeline.multi_child DIR``.

Reads the pickled call from ``DIR`` (written by :func:`taskmill.api.pipeline.multi.run_instance`),
runs the decorated pipeline in this process with the caller's decorator mode, and leaves
``(ok, value)`` pickled in ``DIR`` for the caller. The exit code says whether the call succeeded.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from taskmill.api.pipeline.context import DECORATOR
from taskmill.api.pipeline.decorator import PipelineDecorator
from taskmill.api.pipeline.multi import CALL_FILE, RESULT_FILE
from taskmill.errors import ExecutionError


def main(folder: Path) -> int:
    """Run the call stored in ``folder``; 0 when it returned, 1 when it raised (blocking)."""
    import cloudpickle

    inner, run, args, kwargs, switches, entry = cloudpickle.loads((folder / CALL_FILE).read_bytes())
    # the caller's run_locally()/debug_pipeline(), set_default_execution_queue() and launcher
    DECORATOR.mode = switches["mode"]
    DECORATOR.default_queue = switches["default_queue"]
    DECORATOR.launcher = switches["launcher"]
    _act_as_caller(*entry)
    options = _options_of(run)
    try:
        pipe = PipelineDecorator(function=inner, **options["controller"])
        value = pipe._run_pipeline(args, kwargs, **options["run"])
        (folder / RESULT_FILE).write_bytes(cloudpickle.dumps((True, value)))
        return 0
    except SystemExit as exc:
        if exc.code not in (0, None):
            (folder / RESULT_FILE).write_bytes(cloudpickle.dumps((False, f"SystemExit: {exc.code}")))
            return 1
        # remote mode: the call recorded its run, handed it to a queue and ended this process on
        # purpose (ClearML's execute_remotely); the caller gets None, as ClearML's does
        (folder / RESULT_FILE).write_bytes(cloudpickle.dumps((True, None)))
        return 0
    except BaseException as exc:  # the caller raises it; this process just reports it
        (folder / RESULT_FILE).write_bytes(cloudpickle.dumps((False, f"{type(exc).__name__}: {exc}")))
        return 1


def _act_as_caller(argv: list[str], module: str | None) -> None:
    """Look like the calling program to the script capture: its ``sys.argv``, and its module when
    it ran as ``python -m`` (else no module), so the run records the caller's script, not this one."""
    sys.argv = list(argv)
    spec = None
    if module and module != "__main__":
        spec = importlib.util.find_spec(module.removesuffix(".__main__"))
    sys.modules["__main__"].__spec__ = spec


def _options_of(run: Callable[..., Any]) -> dict[str, Any]:
    options = getattr(run, "__taskmill_options__", None)
    if options is None:
        raise ExecutionError("not a decorated pipeline function")
    return dict(options)


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1])))
