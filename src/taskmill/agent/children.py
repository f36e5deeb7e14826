"""Task processes: forked from the agent's warm worker, or started cold in another interpreter.

Either way the task runs in a process group of its own, so stopping it (SIGTERM, then SIGKILL)
reaches whatever it started, and nothing it started outlives it. Children write to the agent's
console; the Task API in the child copies that output into the task's log.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import threading
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence

from taskmill.engine.forkserver import ForkServer
from taskmill.errors import ExecutionError

logger = logging.getLogger(__name__)


class Child(ABC):
    """One running task process."""

    pid: int = 0

    @abstractmethod
    def wait(self) -> int:
        """Block until the process has exited; its exit code (negative: killed by that signal)."""

    @abstractmethod
    def kill(self, grace: float) -> None:
        """SIGTERM its process group, SIGKILL after ``grace`` seconds. Blocking until it has exited
        (about ``grace`` seconds at most). Safe from any thread; a no-op once it has exited."""


class _ForkedChild(Child):
    def __init__(self, server: ForkServer, key: str) -> None:
        self._server = server
        self._key = key
        self._exited = threading.Event()
        self._code = 0

    def exited(self, code: int) -> None:
        self._code = code
        self._exited.set()

    def wait(self) -> int:
        self._exited.wait()
        return self._code

    def kill(self, grace: float) -> None:
        self._server.kill(self._key, signal.SIGTERM, grace)


class _ColdChild(Child):
    def __init__(self, argv: Sequence[str], env: Mapping[str, str], cwd: str | None) -> None:
        self._proc = subprocess.Popen(
            list(argv), env=dict(env), cwd=cwd, stdin=subprocess.DEVNULL, start_new_session=True
        )
        self.pid = self._proc.pid
        self._lock = threading.Lock()  # guards _reaped: never signal a group id that may be reused
        self._reaped = False
        self._done = threading.Event()

    def wait(self) -> int:
        # Look without reaping first: the zombie keeps its process group id reserved while we sweep it.
        with contextlib.suppress(ChildProcessError):
            os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOWAIT)
        with self._lock:
            if not self._reaped:
                _signal_group(self.pid, signal.SIGKILL)  # whatever the task left running
                self._proc.wait()
                self._reaped = True
        self._done.set()
        return self._proc.returncode

    def kill(self, grace: float) -> None:
        with self._lock:
            if not self._reaped:
                _signal_group(self.pid, signal.SIGTERM)
        if self._done.wait(grace):
            return
        with self._lock:
            if not self._reaped:
                _signal_group(self.pid, signal.SIGKILL)
        self._done.wait(grace + 5.0)


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


class Spawner:
    """Starts task processes. Thread-safe.

    :meth:`spawn_warm` forks from one warm worker (:class:`~taskmill.engine.forkserver.ForkServer`)
    that has ``preload`` imported: a few milliseconds per task. A warm worker that died (killed,
    out of memory) is replaced on the next spawn; the tasks it was running are reported killed.
    :meth:`spawn_cold` starts another interpreter (a task's virtualenv).
    """

    def __init__(
        self,
        *,
        env: Mapping[str, str],
        preload: Sequence[str],
        sys_path: Sequence[str] = (),
        cwd: str | None = None,
    ) -> None:
        """``env``: the whole environment of task processes (each spawn adds its own variables);
        ``preload``: modules the warm worker imports; ``sys_path``: folders in front of its
        ``sys.path``; ``cwd``: where the warm worker (and its children) start."""
        self._env = dict(env)
        self._cwd = cwd
        self._preload = tuple(preload)
        self._sys_path = tuple(sys_path)
        self._lock = threading.Lock()  # guards _forked
        self._restart_lock = threading.Lock()  # one replacement of a dead warm worker at a time
        self._forked: dict[str, _ForkedChild] = {}
        self._server = self._new_server()

    def _new_server(self) -> ForkServer:
        return ForkServer(
            preload=self._preload, sys_path=self._sys_path, env=self._env, cwd=self._cwd, on_exit=self._exited
        )

    def start(self) -> None:
        """Start the warm worker and wait until it has imported ``preload``. Blocking; call once.

        Raises ExecutionError when it cannot start (the message has its stderr).
        """
        self._server.start()

    def spawn_warm(self, key: str, target: str, args: Sequence[str], env: Mapping[str, str]) -> Child:
        """Fork ``target(*args)`` (``"module:function"``) with ``env`` added. Non-blocking.

        ``key`` names the child (unique among running ones). Raises ExecutionError when no warm
        worker can run it (even after replacing a dead one).
        """
        for attempt in (1, 2):
            server = self._server
            child = _ForkedChild(server, key)
            with self._lock:
                self._forked[key] = child  # before submit: the exit report may come before its reply
            try:
                child.pid = server.submit(key, target, args=list(args), env=dict(env))
            except ExecutionError:
                with self._lock:
                    self._forked.pop(key, None)
                if attempt == 2 or key in server.running():
                    raise
                self._replace(server)  # not a duplicate key: the warm worker is gone
            except BaseException:
                with self._lock:
                    self._forked.pop(key, None)
                raise
            else:
                return child
        raise AssertionError("unreachable")

    def _replace(self, dead: ForkServer) -> None:
        """Start a new warm worker in place of ``dead`` (unless another thread did already). Blocking."""
        with self._restart_lock:
            if self._server is not dead:
                return
            logger.warning("the warm worker (pid %s) is gone; starting a new one", dead.pid)
            try:
                dead.close()
            except ExecutionError as exc:
                logger.warning("could not clean up the old warm worker: %s", exc)
            server = self._new_server()
            server.start()
            self._server = server

    def spawn_cold(self, argv: Sequence[str], env: Mapping[str, str], cwd: str | None = None) -> Child:
        """Start ``argv`` as a new process (its own session and group) with ``env`` added. Non-blocking.

        Raises OSError when it cannot be started.
        """
        return _ColdChild(argv, {**self._env, **env}, cwd or self._cwd)

    def close(self) -> None:
        """Stop the warm worker (and any child still forked from it). Blocking; idempotent."""
        with self._restart_lock:
            self._server.close()

    def _exited(self, key: str, code: int) -> None:
        with self._lock:
            child = self._forked.pop(key, None)
        if child is not None:
            child.exited(code)
