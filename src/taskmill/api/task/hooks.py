"""Interpreter hooks that end the main task with the process and connect ``argparse`` to it.

Both are installed at most once per process (idempotent) and act on ``PROCESS.main_task`` at the
moment they run, so they need no reference to a task and outlive any one task:

* the exit hooks complete the main task at normal exit, fail it (traceback in its log) on an
  uncaught exception, stop it on Ctrl-C, and flush every reporter of the process at exit;
* the argparse hook records every ``parse_known_args`` result as the main task's ``Args`` section
  (ClearML's auto-connect). It is installed when ``Task`` is imported, so a namespace parsed
  before ``Task.init`` is kept in ``PROCESS.parsed_args`` and connected by ``Task.init``, which
  under an agent writes the stored (possibly edited) values back into it, whatever the order.
"""

from __future__ import annotations

import argparse
import atexit
import sys
from typing import Any

from taskmill.api.session import PROCESS


def install_exit_hooks() -> None:
    """Install the ``sys.excepthook`` and ``atexit`` hooks (once per process; later calls are no-ops)."""
    if getattr(sys.excepthook, "_taskmill", False):
        return
    previous = sys.excepthook

    def hook(exc_type: type[BaseException], exc: BaseException, tb: Any) -> None:
        task = PROCESS.main_task
        if task is not None and not isinstance(exc, KeyboardInterrupt):
            task._finish(exc)
        elif task is not None:
            task._interrupt()
        previous(exc_type, exc, tb)

    hook._taskmill = True  # type: ignore[attr-defined]
    sys.excepthook = hook

    def at_exit() -> None:
        task = PROCESS.main_task
        if task is not None:
            task._finish(None)
        for reporter in list(PROCESS.reporters):
            try:
                reporter.close()
            except Exception as err:  # at exit: report and carry on
                print(f"taskmill: could not flush reports: {err}", file=sys.__stderr__)

    atexit.register(at_exit)


#: namespaces kept before Task.init; a process parsing more is not a script ClearML would record
_MAX_PENDING = 64


def connect_parsed_args(task: Any, enabled: bool) -> None:
    """Connect (``enabled``) or drop the namespaces parsed before ``Task.init``, and set whether
    later parses are connected. Under an agent ``connect`` overwrites them with stored values."""
    with PROCESS.lock:
        pending = list(PROCESS.parsed_args)
        PROCESS.parsed_args.clear()
        PROCESS.connect_argparse = enabled
    if enabled:
        for ns in pending:
            task.connect(ns, name="Args")


def install_argparse_hook() -> None:
    """Patch ``ArgumentParser.parse_known_args`` to connect its results to the main task (once)."""
    original = argparse.ArgumentParser.parse_known_args
    if getattr(original, "_taskmill", False):
        return

    def parse_known_args(self: argparse.ArgumentParser, args: Any = None, namespace: Any = None) -> Any:
        ns, rest = original(self, args, namespace)
        with PROCESS.lock:
            task = PROCESS.main_task
            if task is None:
                if len(PROCESS.parsed_args) < _MAX_PENDING:
                    PROCESS.parsed_args.append(ns)
                return ns, rest
        if PROCESS.connect_argparse:
            task.connect(ns, name="Args")
        return ns, rest

    parse_known_args._taskmill = True  # type: ignore[attr-defined]
    argparse.ArgumentParser.parse_known_args = parse_known_args  # type: ignore[method-assign]
