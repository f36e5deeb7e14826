"""Step targets run by the fork server tests: each takes string arguments, as steps do."""

from __future__ import annotations

import os
import subprocess
import sys
import time


def _stderr_to(path: str) -> None:
    # Steps capture their own console; these targets do it by pointing fd 2 at a file.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 2)
    os.close(fd)


def nothing() -> None:
    """Exit 0 at once."""


def exit_with(code: str) -> int:
    """Return ``int(code)`` as the exit code."""
    return int(code)


def fail(stderr_path: str) -> None:
    """Raise with stderr redirected to ``stderr_path``."""
    _stderr_to(stderr_path)
    raise RuntimeError("step exploded on purpose")


def load_then_fail(stderr_path: str, target: str) -> None:
    """Redirect stderr, then behave like the server loading ``target`` (for error-message tests)."""
    _stderr_to(stderr_path)
    module, _, function = target.partition(":")
    __import__(module)
    getattr(sys.modules[module], function)()


def describe(out_path: str, var: str) -> None:
    """Write the env var ``var``, the cwd, argv and whether the preload module is loaded."""
    loaded = "tests.engine.resources.preloaded" in sys.modules
    with open(out_path, "w") as out:
        out.write(f"{os.environ.get(var)}\n{os.getcwd()}\n{' '.join(sys.argv)}\n{loaded}\n")


def sleep(seconds: str) -> None:
    """Sleep for ``seconds``."""
    time.sleep(float(seconds))


def sleep_with_grandchild(pid_path: str) -> None:
    """Start ``sleep 30`` as a grandchild, write its pid to ``pid_path``, then sleep."""
    grandchild = subprocess.Popen(["sleep", "30"])
    tmp = pid_path + ".tmp"
    with open(tmp, "w") as out:
        out.write(str(grandchild.pid))
    os.replace(tmp, pid_path)
    time.sleep(30)


def leave_grandchild(pid_path: str) -> None:
    """Start ``sleep 30`` as a grandchild, write its pid, and exit without waiting for it."""
    grandchild = subprocess.Popen(["sleep", "30"])
    with open(pid_path, "w") as out:
        out.write(str(grandchild.pid))


def with_atexit(out_path: str) -> None:
    """Register an exit handler that writes ``out_path``: it must run when the child exits."""
    import atexit

    def write() -> None:
        with open(out_path, "w") as out:
            out.write("ran\n")

    atexit.register(write)


def ignore_sigterm(ready_path: str) -> None:
    """Ignore SIGTERM (so only SIGKILL stops it), say so in ``ready_path``, then sleep."""
    import signal

    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    with open(ready_path, "w") as out:
        out.write("ready")
    time.sleep(30)


def leave_threads(out_path: str) -> None:
    """Return while a non-daemon thread and an unclosed thread pool still work; both must finish."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    def late_write() -> None:
        time.sleep(0.2)
        with open(out_path, "a") as out:
            out.write("thread\n")

    threading.Thread(target=late_write).start()
    pool = ThreadPoolExecutor(1)
    pool.submit(time.sleep, 0.1)
