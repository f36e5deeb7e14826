"""The launcher interface: what a launcher is, what it is handed, and the semantics all share.

A launcher runs step tasks somewhere (threads, local processes, a Dask or Ray cluster, a batch
scheduler) and tells the run loop when each one is over. The run loop never looks at *how*: the
task's final status is in the store, and the scheduler reads it from there.

Writing a launcher
------------------
Subclass :class:`TrackedLauncher` and implement two methods:

* :meth:`TrackedLauncher.submit` starts the step described by a :class:`LaunchRequest`
  (non-blocking). The step process needs only the task id and the store settings:
  :meth:`LauncherContext.step_argv` is the command that runs it
  (``python -m taskmill.engine.step_entry <target> <task id>``) and
  :meth:`LauncherContext.step_env` its environment.
* :meth:`TrackedLauncher.cancel` stops a submitted step (non-blocking, best effort).

When the step's process or job is over, for whatever reason, call :meth:`TrackedLauncher.ended`
with what happened (``"process exited with code 3"``). That one call gives every launcher the
process launcher's semantics (:class:`StepTracker`):

* a step that ended without recording an end (crash, ``kill -9``, ``os._exit``, a lost worker)
  is marked ``failed`` with ``"step <what happened>"`` as its message;
* an aborted step is marked ``stopped`` ("aborted") at once, whatever the cancel does;
* the request's ``done`` is called exactly once, from any thread.

Then make it selectable: a factory taking a :class:`LauncherContext` (the class itself works),
declared in the ``taskmill.launchers`` entry-point group (see
:mod:`taskmill.engine.launcher_plugins`).
"""

from __future__ import annotations

import os
import sys
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from taskmill.core.states import TaskStatus
from taskmill.engine.nodes import Node
from taskmill.errors import ExecutionError
from taskmill.store.base import TaskStore

Done = Callable[[str], None]

#: the module a step process runs as ``python -m`` (see :mod:`taskmill.engine.step_entry`)
STEP_ENTRY_MODULE = "taskmill.engine.step_entry"


@dataclass(frozen=True, slots=True)
class LaunchRequest:
    """One step task to run: what :meth:`Launcher.launch` takes.

    ``queue`` is the step's resolved queue (None: none). ``done(task_id)`` is called once the
    step is over; ``started(task_id)``, when given, once a step that waited starts running.
    """

    node: Node
    task_id: str
    queue: str | None
    done: Done
    started: Done | None = None


class Launcher(ABC):
    """Runs step tasks; every method is non-blocking except :meth:`start` (see the module docstring)."""

    #: True when steps run in this process (outputs can be handed over in memory)
    in_process: bool = False
    #: True when a launched step may wait (in a queue) before it runs: ``started`` reports that
    reports_start: bool = False
    #: True when a launched function step starts this instant in this process
    starts_immediately: bool = False

    def starts_immediately_for(self, node: Node) -> bool:
        """Whether ``node``'s function step starts the instant it is launched, in this process
        (its task is then created running: one write fewer). Default: :attr:`starts_immediately`."""
        return self.starts_immediately

    def start(self) -> None:  # noqa: B027 - optional hook
        """Prepare (e.g. start worker processes). Blocking. Idempotent."""

    @abstractmethod
    def launch(self, request: LaunchRequest) -> None:
        """Start running the request's task; call its ``done`` when it is over, and its
        ``started`` when it starts after waiting (``reports_start``). Non-blocking."""

    @abstractmethod
    def abort(self, task_id: str) -> None:
        """Stop a running step as soon as possible (its task ends ``stopped``). Non-blocking."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Stop everything still running and release resources. Idempotent."""


def _say_nothing(message: str) -> None:
    """The default console: launchers may tell the person at the terminal things; by default nobody."""


@dataclass(frozen=True)
class LauncherContext:
    """What a launcher factory is handed: the store, how to start a step process, and options.

    ``targets`` maps a step kind (``function``, ``task``) to the ``"module:function"`` its
    process runs with the task id. ``env`` is the complete environment of a step process (the
    store settings included), ``sys_path`` folders it must import from, ``cwd`` its working
    directory. ``address`` is the cluster to connect to (None: start a local one),
    ``max_parallel`` how many steps the run may have running at once, ``console`` a line for
    the person at the terminal.
    """

    store: TaskStore
    store_url: str
    targets: Mapping[str, str]
    env: Mapping[str, str] = field(default_factory=dict)
    sys_path: tuple[str, ...] = ()
    preload: tuple[str, ...] = ()
    cwd: str | None = None
    address: str | None = None
    max_parallel: int = 8
    console: Callable[[str], None] = _say_nothing

    def target_of(self, request: LaunchRequest) -> str:
        """The ``"module:function"`` running ``request``'s kind of step. ExecutionError if none."""
        kind = request.node.spec.kind
        try:
            return self.targets[kind]
        except KeyError:
            raise ExecutionError(f"step '{request.node.name}': no step process for kind '{kind}'") from None

    def step_argv(self, request: LaunchRequest, python: str = sys.executable) -> list[str]:
        """The command line of ``request``'s step process (run it with :meth:`step_env`)."""
        return [python, "-m", STEP_ENTRY_MODULE, self.target_of(request), request.task_id]

    def step_env(self) -> dict[str, str]:
        """The step process environment: ``env`` with ``sys_path`` first on ``PYTHONPATH``."""
        env = dict(self.env)
        paths = [*self.sys_path, *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
        if paths:
            env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
        return env

    @property
    def single_machine_store(self) -> bool:
        """True for the embedded SQLite store: only processes on this machine can reach it."""
        return self.store_url.startswith("sqlite")

    def refuse_single_machine_store(self, where: str) -> None:
        """Raise ExecutionError when steps running ``where`` (a remote cluster) could not reach
        the store. No-op for a store that is reachable over the network."""
        if self.single_machine_store:
            raise ExecutionError(
                f"steps on {where} cannot use the embedded SQLite store ({self.store_url}): it is "
                "single-machine. Point TASKMILL_STORE at a store every worker reaches (a `taskmill "
                "server` over HTTP, or PostgreSQL) and TASKMILL_ARTIFACTS at S3 or a shared "
                "filesystem, or use a local cluster (no address)"
            )


def is_local_address(address: str | None) -> bool:
    """True when ``address`` (None: none, ``auto``, ``tcp://127.0.0.1:8786``, ``ray://host:10001``)
    names a cluster on this machine, so a single-machine store is reachable from its workers."""
    if address is None or address in ("", "auto", "local"):
        return True
    host = urlsplit(address if "://" in address else f"tcp://{address}").hostname or ""
    return host in ("localhost", "::1") or host.startswith("127.")


def exit_reason(code: int, what: str = "process") -> str:
    """How a process ended, from its exit code (negative: killed by that signal)."""
    return f"{what} killed by signal {-code}" if code < 0 else f"{what} exited with code {code}"


class StepTracker:
    """The semantics every launcher shares, in one place (see the module docstring). Thread-safe."""

    def __init__(self, store: TaskStore) -> None:
        self._store = store
        self._done: dict[str, Done] = {}
        self._aborted: set[str] = set()
        self._lock = threading.Lock()

    def track(self, request: LaunchRequest) -> None:
        """Remember ``request`` until :meth:`ended` (call before submitting it anywhere)."""
        with self._lock:
            self._done[request.task_id] = request.done

    def forget(self, task_id: str) -> None:
        """Drop a request that was never submitted (its submission raised)."""
        with self._lock:
            self._done.pop(task_id, None)

    def tracked(self) -> list[str]:
        """Task ids submitted and not yet ended."""
        with self._lock:
            return list(self._done)

    def stop(self, task_id: str) -> None:
        """Abort: mark the task ``stopped`` unless it already ended. Blocking for a store write."""
        with self._lock:
            if task_id in self._done:
                self._aborted.add(task_id)
        if not self._store.get_task(task_id).status.is_final:
            self._store.set_status(task_id, TaskStatus.stopped, message="aborted", force=True)

    def ended(self, task_id: str, why: str) -> None:
        """The step's process or job is over (``why``: what happened, e.g. ``process exited with
        code 1``). A task that recorded no end is marked failed with ``step <why>``; then the
        request's ``done`` is called. Idempotent: a second call for the same task does nothing."""
        with self._lock:
            done = self._done.pop(task_id, None)
            aborted = task_id in self._aborted
            self._aborted.discard(task_id)
        if done is None:
            return
        try:
            status = self._store.get_task(task_id).status
            if aborted and status != TaskStatus.stopped and not status.succeeded:
                # A step process still starting when it was aborted may have attached to its task
                # (in_progress again) before the kill reached it: the abort is what happened.
                self._store.set_status(task_id, TaskStatus.stopped, message="aborted", force=True)
            elif not status.is_final:
                self._store.set_status(
                    task_id, TaskStatus.failed, message=f"step {why}", reason=why, force=True
                )
        finally:
            done(task_id)


class TrackedLauncher(Launcher):
    """A launcher built on :class:`StepTracker`: implement :meth:`submit` and :meth:`cancel`,
    call :meth:`ended` when a step is over (see the module docstring)."""

    def __init__(self, store: TaskStore) -> None:
        self._tracker = StepTracker(store)

    def launch(self, request: LaunchRequest) -> None:
        self._tracker.track(request)
        try:
            self.submit(request)
        except BaseException:
            self._tracker.forget(request.task_id)
            raise

    def abort(self, task_id: str) -> None:
        self._tracker.stop(task_id)
        self.cancel(task_id)

    def ended(self, task_id: str, why: str) -> None:
        """Report that ``task_id``'s process or job is over (from any thread; idempotent)."""
        self._tracker.ended(task_id, why)

    def running(self) -> list[str]:
        """Task ids submitted and not yet ended."""
        return self._tracker.tracked()

    @abstractmethod
    def submit(self, request: LaunchRequest) -> None:
        """Start the step (non-blocking); raise ExecutionError when it cannot be started."""

    @abstractmethod
    def cancel(self, task_id: str) -> None:
        """Stop the step if it still runs (non-blocking, best effort; its status is set already)."""
