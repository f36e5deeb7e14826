"""The step process entry point, and running it as a child process from a cluster worker.

``python -m taskmill.engine.step_entry package.module:function TASK_ID`` imports the target and
exits with ``function(TASK_ID)`` as its exit code: exactly what a
:class:`~taskmill.engine.launchers.ProcessLauncher` child runs, for launchers that start a fresh
interpreter (Dask and Ray workers, batch jobs). The target comes from the API layer
(``PROCESS_TARGETS``); the engine only names it as a string.

:func:`run_step_process` is what a cluster worker calls: it starts that command, waits for it
and kills its whole process group when asked to stop.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence

#: exit code when the target cannot be imported (1: the target raised or said it failed)
LOAD_FAILED = 2


def call_target(target: str, task_id: str) -> int:
    """Import ``"module:function"`` and return ``function(task_id)`` as an exit code. Blocking."""
    module_name, _, attr = target.partition(":")
    try:
        func = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        sys.stderr.write(f"taskmill: cannot load step target {target}: {exc!r}\n")
        return LOAD_FAILED
    result = func(task_id)
    if result is None or isinstance(result, bool):
        return int(bool(result))
    return result if isinstance(result, int) else 1


def run_step_process(
    argv: Sequence[str],
    env: Mapping[str, str],
    *,
    cwd: str | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    poll: float = 0.2,
    grace: float = 3.0,
) -> int:
    """Run ``argv`` in a new session and return its exit code (negative: killed by a signal).

    Blocking. ``should_stop`` is asked every ``poll`` seconds; when it says so, or when the
    caller is interrupted (``KeyboardInterrupt``: Ray's cancel), the process group gets SIGTERM,
    then SIGKILL after ``grace`` seconds.
    """
    proc = subprocess.Popen(list(argv), env=dict(env), cwd=cwd, start_new_session=True)
    try:
        while True:
            try:
                return proc.wait(timeout=poll)
            except subprocess.TimeoutExpired:
                if should_stop():
                    _kill_group(proc, grace)
                    return proc.wait()
    finally:
        if proc.poll() is None:  # interrupted: never leave the step running behind us
            _kill_group(proc, grace)


def _kill_group(proc: subprocess.Popen[bytes], grace: float) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m taskmill.engine.step_entry TARGET TASK_ID``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        sys.stderr.write("usage: python -m taskmill.engine.step_entry package.module:function TASK_ID\n")
        return LOAD_FAILED
    return call_target(args[0], args[1])


if __name__ == "__main__":
    sys.exit(main())
