"""Task processes: forked from the agent's warm worker, or started cold in another interpreter.

Either way the task runs in a process group of its own, so stopping it (SIGTERM, then SIGKILL)
reaches whatever it started, and nothing it started outlives it. Children write to the agent's
console; the Task API in the child copies that output into the task's log.

No task process outlives its agent: on Linux a cold child gets SIGKILL from the kernel when the
agent dies, the warm worker sweeps its children when the agent's pipe closes, and the kernel
kills those too if the warm worker dies first. For what is left anyway (a task's own
grandchildren when everything above was SIGKILLed at once), a :class:`Spawner` given a ``ledger``
folder records each process group it starts; a later agent on the same folder kills the groups
recorded by agents that are no longer alive (:func:`stop_leftovers`).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

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

    def is_done(self) -> bool:
        return self._exited.is_set()

    def kill(self, grace: float) -> None:
        self._server.kill(self._key, signal.SIGTERM, grace)


_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _death_signal_setter() -> Callable[[], None] | None:
    """A ``preexec_fn`` that has the kernel SIGKILL the child when its parent thread dies (Linux).

    libc is looked up here, in the parent: the child runs only the call itself before exec.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def set_death_signal() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the agent died before the call took effect
            os._exit(1)

    return set_death_signal


class _ColdChild(Child):
    def __init__(
        self,
        argv: Sequence[str],
        env: Mapping[str, str],
        cwd: str | None,
        on_reaped: Callable[[int], None] = lambda pid: None,
    ) -> None:
        # The waiting thread (TaskExecution's) lives as long as the child, so the parent-death
        # signal, which follows the thread that forked, fires only when the agent goes.
        # preexec_fn in a threaded process: safe here, the hook only calls prctl (no locks).
        self._proc = subprocess.Popen(
            list(argv),
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_death_signal_setter(),
        )
        self.pid = self._proc.pid
        self._lock = threading.Lock()  # guards _reaped: never signal a group id that may be reused
        self._reaped = False
        self._done = threading.Event()
        self._on_reaped = on_reaped

    def wait(self) -> int:
        # Look without reaping first: the zombie keeps its process group id reserved while we sweep it.
        with contextlib.suppress(ChildProcessError):
            os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOWAIT)
        with self._lock:
            if not self._reaped:
                _signal_group(self.pid, signal.SIGKILL)  # whatever the task left running
                self._proc.wait()
                self._reaped = True
                self._on_reaped(self.pid)
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


def _proc_stat(pid: int | str) -> tuple[int, str] | None:
    """``(process group, start time in clock ticks)`` of a live process, from ``/proc`` (None: gone)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()  # the command name may hold spaces and ")"
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[2]), fields[19]


def stop_leftovers(folder: Path) -> int:
    """Kill the process groups recorded under ``folder`` by agents that are no longer alive.

    Blocking, idempotent; returns how many processes got SIGKILL. A group is killed only while its
    recorded leader is either still the same process (same pid *and* start time) or gone with
    members left (the kernel never hands out a live group's id as a new pid); a recycled pid is
    left alone. The records of dead agents are removed; those of live agents are never touched.
    """
    killed = 0
    if not folder.is_dir():
        return 0
    me = f"{os.getpid()}-{(_proc_stat(os.getpid()) or (0, ''))[1]}"
    for agent_dir in folder.iterdir():
        agent_pid, _, agent_start = agent_dir.name.partition("-")
        stat = _proc_stat(agent_pid) if agent_pid.isdigit() else None
        if agent_dir.name == me or (stat is not None and stat[1] == agent_start):
            continue  # a live agent's processes are its own business
        for entry in list(agent_dir.iterdir()) if agent_dir.is_dir() else []:
            killed += _stop_group(entry.name)
            entry.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            agent_dir.rmdir()
    return killed


def _stop_group(entry: str) -> int:
    pid, _, start = entry.partition("-")
    if not pid.isdigit():
        return 0
    leader = _proc_stat(pid)
    if leader is not None and leader[1] != start:
        return 0  # the pid was reused by an unrelated process
    killed = 0
    for proc in Path("/proc").iterdir():
        stat = _proc_stat(proc.name) if proc.name.isdigit() else None
        if stat is not None and stat[0] == int(pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(int(proc.name), signal.SIGKILL)
                killed += 1
    return killed


class _Ledger:
    """This agent's record of the process groups it started: one empty file per group, named
    ``<pid>-<start time>`` in ``<folder>/<agent pid>-<agent start time>/``. Thread-safe."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        stat = _proc_stat(os.getpid())
        self._dir = folder / f"{os.getpid()}-{stat[1] if stat else 0}"

    def open(self) -> None:
        self._dir.mkdir(parents=True, exist_ok=True)

    def add(self, pid: int) -> None:
        stat = _proc_stat(pid)
        if stat is not None:
            (self._dir / f"{pid}-{stat[1]}").touch()

    def remove(self, pid: int) -> None:
        for entry in self._dir.glob(f"{pid}-*"):
            entry.unlink(missing_ok=True)

    def close(self) -> None:
        for entry in self._dir.glob("*"):
            entry.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            self._dir.rmdir()


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
        ledger: Path | None = None,
    ) -> None:
        """``env``: the whole environment of task processes (each spawn adds its own variables);
        ``preload``: modules the warm worker imports; ``sys_path``: folders in front of its
        ``sys.path``; ``cwd``: where the warm worker (and its children) start; ``ledger``: a
        folder (shared by the agents of one host) recording the process groups started, so that
        :meth:`start` can stop what dead agents left behind (see :func:`stop_leftovers`)."""
        self._ledger = _Ledger(ledger) if ledger is not None and sys.platform.startswith("linux") else None
        self._env = dict(env)
        self._cwd = cwd
        self._preload = tuple(preload)
        self._sys_path = tuple(sys_path)
        self._lock = threading.Lock()  # guards _forked
        self._restart_lock = threading.Lock()  # one replacement of a dead warm worker at a time
        self._forked: dict[str, _ForkedChild] = {}
        self._assigned: dict[str, dict[str, str]] = {}  #: task id -> variables given to it alone
        self._server = self._new_server()

    def _new_server(self) -> ForkServer:
        # warm=(): the agent's own modules (HTTP, store) are not its tasks'; the warm worker learns
        # what the tasks of this environment import from the first one that imports it.
        return ForkServer(
            preload=self._preload,
            sys_path=self._sys_path,
            env=self._env,
            cwd=self._cwd,
            on_exit=self._exited,
            warm=(),
            learn=True,
        )

    def start(self) -> None:
        """Start the warm worker and wait until it has imported ``preload``. Blocking; call once.

        Before that, kills the process groups that dead agents recorded in the ledger folder.
        Raises ExecutionError when it cannot start (the message has its stderr).
        """
        if self._ledger is not None:
            killed = stop_leftovers(self._ledger.folder)
            if killed:
                logger.warning("stopped %d process(es) left running by an agent that died", killed)
            self._ledger.open()
        self._server.start()
        self._record(self._server.pid or 0)

    def _record(self, pid: int) -> None:
        if self._ledger is not None and pid:
            self._ledger.add(pid)

    def _forget(self, pid: int) -> None:
        if self._ledger is not None and pid:
            self._ledger.remove(pid)

    def assign(self, task_id: str, env: Mapping[str, str]) -> None:
        """Give the process of ``task_id`` these variables on top of every other (e.g. the GPUs
        it was given: ``CUDA_VISIBLE_DEVICES``), until :meth:`release`. Call before it spawns."""
        with self._lock:
            self._assigned[task_id] = dict(env)

    def release(self, task_id: str) -> None:
        """Forget what :meth:`assign` gave ``task_id`` (idempotent)."""
        with self._lock:
            self._assigned.pop(task_id, None)

    def _with_assigned(self, task_id: str | None, env: Mapping[str, str]) -> dict[str, str]:
        with self._lock:
            extra = self._assigned.get(task_id or "", {})
        return {**env, **extra}

    def spawn_warm(self, key: str, target: str, args: Sequence[str], env: Mapping[str, str]) -> Child:
        """Fork ``target(*args)`` (``"module:function"``) with ``env`` added (and what
        :meth:`assign` gave the task ``key`` names). Non-blocking.

        ``key`` names the child (unique among running ones). Raises ExecutionError when no warm
        worker can run it (even after replacing a dead one).
        """
        for attempt in (1, 2):
            server = self._server
            child = _ForkedChild(server, key)
            with self._lock:
                self._forked[key] = child  # before submit: the exit report may come before its reply
            try:
                child.pid = server.submit(key, target, args=list(args), env=self._with_assigned(key, env))
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
                self._record(child.pid)
                if child.is_done():  # its exit report came first: never leave its record behind
                    self._forget(child.pid)
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
            self._forget(dead.pid or 0)
            server = self._new_server()
            server.start()
            self._record(server.pid or 0)
            self._server = server

    def spawn_cold(self, argv: Sequence[str], env: Mapping[str, str], cwd: str | None = None) -> Child:
        """Start ``argv`` as a new process (its own session and group) with ``env`` added (and
        what :meth:`assign` gave the task its ``TASKMILL_TASK_ID`` names). Non-blocking.

        Raises OSError when it cannot be started.
        """
        full = self._with_assigned(env.get("TASKMILL_TASK_ID"), {**self._env, **env})
        child = _ColdChild(argv, full, cwd or self._cwd, on_reaped=self._forget)
        self._record(child.pid)
        return child

    def close(self) -> None:
        """Stop the warm worker (and any child still forked from it). Blocking; idempotent."""
        with self._restart_lock:
            self._server.close()
        if self._ledger is not None:
            self._ledger.close()

    def _exited(self, key: str, code: int) -> None:
        with self._lock:
            child = self._forked.pop(key, None)
        if child is not None:
            child.exited(code)
            self._forget(child.pid)
