"""A warm worker that forks one child process per pipeline step.

A cold interpreter per step costs 100+ ms of imports. :class:`ForkServer` starts one helper process
that imports them once, then forks a child per step in a few milliseconds; each child is still a
process of its own (pid, process group, exit code). This module is the client side, safe to use
from a multi-threaded controller; the server is :mod:`taskmill.engine._forkserver_main`. Targets
are ``"package.module:function"`` strings, so the engine never imports what it launches. POSIX only.

Beyond ``preload`` (which must import), the server is *warmed*, best effort and in the background:
with the library modules this process has imported (``warm=None``), with what :meth:`ForkServer.warm`
names (e.g. :func:`imports_of` a step function, before it first runs), and with what each step
turned out to import (``learn=True``: the first step of a kind teaches the server, the next ones
start with those modules loaded).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import IO, Any

from taskmill.engine._forkserver_warm import library_roots, warmable
from taskmill.errors import ExecutionError

logger = logging.getLogger(__name__)

_SERVER_MODULE = "taskmill.engine._forkserver_main"


@dataclass
class _Step:
    """A child the client has submitted and not yet seen exit."""

    pid: int = 0  # 0 until the server's reply arrives
    exited: threading.Event = field(default_factory=threading.Event)


class ForkServer:
    """Runs ``target(*args)`` in a child forked from a warm, pre-imported server process.

    Thread-safety: every public method may be called from any thread. ``on_exit`` runs on the
    client's single reader thread, one call at a time; it may call :meth:`submit` and :meth:`kill`
    (but not :meth:`close`). Exit reports arrive within milliseconds: the server wakes on
    SIGCHLD, nothing polls.

    Children inherit the server's stdout and stderr (the controller's console, by default) and get
    ``/dev/null`` as stdin. When a child exits, whatever it left in its process group is killed, so
    a step's processes never outlive the step. If the controller dies (even with its whole process
    group: the server runs in a session of its own), the server notices its request pipe closing
    and kills every child group before it exits; if the server itself is killed, the kernel kills
    its children (Linux parent-death signal).
    """

    #: How long ``start()`` waits for the server to import ``preload`` and report ready.
    START_TIMEOUT = 120.0
    #: Grace between SIGTERM and SIGKILL for the children still running when the server stops.
    SHUTDOWN_GRACE = 2.0

    def __init__(
        self,
        *,
        preload: Sequence[str] = ("taskmill",),
        sys_path: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        python: str = sys.executable,
        on_exit: Callable[[str, int], None] | None = None,
        warm: Sequence[str] | None = None,
        learn: bool = True,
    ) -> None:
        """Describe the server; nothing starts before :meth:`start`.

        Args:
            preload: Modules the server imports once; children start with them imported.
            sys_path: Folders put in front of ``sys.path`` in the server (before preloading) and
                so in every child.
            env: The server's whole environment, as with :class:`subprocess.Popen` (``None``
                inherits this process's). Each submit can add variables on top.
            cwd: The server's working directory (``None`` inherits); children start there.
            python: The interpreter to run; it must be able to import taskmill.
            on_exit: Called as ``on_exit(key, returncode)`` once per child, on the reader thread;
                a negative returncode means the child was killed by that signal.
            warm: Modules imported in the background once the server is ready, skipping any that
                fail or start threads; ``None``: the standard-library and site-packages modules
                this process has imported when :meth:`start` is called (:func:`imported_modules`).
            learn: Also warm the server with the library modules each step imports.
        """
        self._preload = tuple(preload)
        self._sys_path = tuple(os.fspath(p) for p in sys_path)
        self._env = dict(env) if env is not None else None
        self._cwd = cwd
        self._python = python
        self._on_exit = on_exit
        self._warm = None if warm is None else tuple(warm)
        self._learn = learn
        self._startup_log: IO[bytes] | None = None
        self._start_lock = threading.Lock()  # one thread finishes a background start
        self._lock = threading.Lock()  # guards _state and _steps
        self._rpc_lock = threading.Lock()  # one request/reply exchange on the pipes at a time
        # new -> starting -> spawned (process up, imports going on) -> running -> closing -> closed;
        # running -> dead if the server dies
        self._state = "new"
        self._steps: dict[str, _Step] = {}
        self._proc: subprocess.Popen[bytes] | None = None
        self._events_fd = -1
        self._reader: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self, wait: bool = True) -> None:
        """Start the server and (``wait``) wait until it has imported ``preload``.

        Blocking for as long as the imports take; with ``wait=False`` it returns once the process
        is started (milliseconds), the imports go on while the caller sets up, and the first
        :meth:`submit`, :meth:`warm` or :meth:`wait_ready` waits for them. Call once.

        Raises:
            ExecutionError: the server could not start or a preload module failed to import; the
                message names the module and includes the server's stderr (with ``wait=False``,
                raised by the call that waits).
        """
        with self._start_lock:  # close() and wait_ready() on other threads wait for the spawn
            self._spawn()
        if wait:
            self.wait_ready()

    def wait_ready(self) -> None:
        """Wait until a server started with ``start(wait=False)`` is ready. Blocking; idempotent.

        Raises:
            ExecutionError: as :meth:`start`.
        """
        with self._start_lock:
            if self._state == "spawned":
                self._finish_start()

    def _spawn(self) -> None:
        with self._lock:
            if self._state != "new":
                raise ExecutionError(f"fork server already {self._state}; create a new ForkServer")
            self._state = "starting"
        events_r, events_w = os.pipe()
        # The server's own fd 1/2 carry the protocol and the start-up log; it hands copies of our
        # console on to its children.
        consoles = [_dup_or_devnull(fd) for fd in (1, 2)]
        config = {
            "preload": self._preload,
            "sys_path": self._sys_path,
            "events_fd": events_w,
            "stdout_fd": consoles[0],
            "stderr_fd": consoles[1],
            "shutdown_grace": self.SHUTDOWN_GRACE,
            # The kernel's parent-death signal follows the thread that forked: only the main
            # thread lives as long as this process.
            "client_pid": os.getpid() if threading.current_thread() is threading.main_thread() else 0,
            "learn": self._learn,
        }
        # The warm list (hundreds of names) goes in a file, not argv: one argument is capped at 128 KiB.
        warm_file = tempfile.TemporaryFile()
        warm_file.write("\n".join(self._warm if self._warm is not None else imported_modules()).encode())
        warm_file.flush()
        warm_file.seek(0)
        config["warm_fd"] = warm_file.fileno()
        startup_log = tempfile.TemporaryFile()
        # the log stays open until the server reports ready (_finish_start)
        try:
            self._proc = subprocess.Popen(
                # -P: no cwd in front of sys.path; sys_path says exactly what is there.
                [self._python, "-P", "-m", _SERVER_MODULE, json.dumps(config)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=startup_log,
                pass_fds=(events_w, warm_file.fileno(), *consoles),
                env=self._env,
                cwd=self._cwd,
                # Out of our process group: a kill of the controller's group must leave the
                # server alive to see the end of its stdin and sweep every step's group.
                start_new_session=True,
            )
        except OSError as exc:
            os.close(events_r)
            startup_log.close()
            self._state = "closed"
            raise ExecutionError(
                f"cannot start the fork server with python '{self._python}': {exc}; "
                "check ForkServer(python=..., cwd=...)"
            ) from exc
        finally:
            for fd in (events_w, *consoles):
                os.close(fd)
            warm_file.close()
        self._events_fd = events_r
        self._startup_log = startup_log
        with self._lock:
            self._state = "spawned"

    def _finish_start(self) -> None:
        assert self._proc is not None and self._startup_log is not None
        try:
            server_pid = self._await_ready(self._startup_log)
        except BaseException:
            self._proc.kill()
            self._proc.communicate()  # reaps it and closes its pipes
            os.close(self._events_fd)
            self._state = "closed"
            raise
        finally:
            self._startup_log.close()
            self._startup_log = None
        logger.debug("fork server pid %d ready (preload=%s)", server_pid, self._preload)
        with self._lock:
            self._state = "running"
        self._reader = threading.Thread(target=self._read_events, name="taskmill-forkserver", daemon=True)
        self._reader.start()

    def close(self) -> None:
        """Kill every child (SIGTERM, SIGKILL after ``SHUTDOWN_GRACE``) and stop the server.

        Blocking until the server has exited and ``on_exit`` has been called for every child.
        Idempotent. Must not be called from ``on_exit``.
        """
        if threading.current_thread() is self._reader:
            raise RuntimeError("ForkServer.close() cannot be called from on_exit (it waits for that thread)")
        with contextlib.suppress(ExecutionError):  # a failed start has closed it already
            self.wait_ready()
        with self._lock:
            if self._state in ("new", "closed"):
                self._state = "closed"
                return
            self._state = "closing"
        proc = self._proc
        assert proc is not None and proc.stdin is not None, "close() raced with start()"
        # The lock lets a request in flight get its reply first; OSError: the server is gone already.
        with self._rpc_lock, contextlib.suppress(OSError):
            proc.stdin.close()  # end of file: the server kills its children and exits
        try:
            proc.wait(self.SHUTDOWN_GRACE + 10.0)
        except subprocess.TimeoutExpired:
            logger.error("fork server pid %d did not stop; killing it", proc.pid)
            proc.kill()
            proc.wait()
        if self._reader is not None:
            self._reader.join()
        if proc.stdout is not None:
            proc.stdout.close()
        with self._lock:
            self._state = "closed"

    def __enter__(self) -> ForkServer:
        """Start the server (if not started yet) and return it."""
        if self._state == "new":
            self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Close the server: see :meth:`close`."""
        self.close()

    @property
    def pid(self) -> int | None:
        """The server's process id, or None before :meth:`start`."""
        return self._proc.pid if self._proc is not None else None

    # -- steps ---------------------------------------------------------------------------------

    def submit(
        self,
        key: str,
        target: str,
        *,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
    ) -> int:
        """Fork a child that runs ``target(*args)`` and return its pid.

        Non-blocking: returns once the child exists (about a millisecond), not when it finishes;
        its exit code goes to ``on_exit`` (possibly before this returns). The exit code is the
        function's return value with :func:`sys.exit` semantics (None -> 0, int -> that int); an
        uncaught exception goes through :data:`sys.excepthook` (traceback on stderr) and gives 1; a
        target that cannot be imported gives 2 with the reason on stderr.

        Args:
            key: Names the child in ``on_exit``, :meth:`kill` and :meth:`running`; unique among
                running children.
            target: ``"package.module:function"`` (or ``"module:Class.method"``).
            args: String arguments passed positionally; also ``sys.argv[1:]`` in the child.
            env: Variables set on top of the server's environment.
            cwd: The child's working directory (default: the server's).

        Raises:
            ValueError: ``target`` is not of the form ``"module:function"``.
            ExecutionError: the key is already running, or the server is not running.
        """
        module, sep, function = target.partition(":")
        if not (module and sep and function):
            raise ValueError(f"target must look like 'package.module:function', got {target!r}")
        self.wait_ready()
        step = _Step()
        with self._lock:
            self._check_running(key)
            if key in self._steps:
                raise ExecutionError(
                    f"step '{key}' is already running (pid {self._steps[key].pid}); "
                    "wait for its exit or kill() it before submitting it again"
                )
            self._steps[key] = step  # before the request: the exit report may beat the reply
        request = {
            "op": "spawn",
            "key": key,
            "target": target,
            "args": [str(a) for a in args],
            "env": dict(env) if env else None,
            "cwd": cwd,
        }
        try:
            reply = self._call(request)
            if not reply["ok"]:
                raise ExecutionError(f"cannot start step '{key}' ({target}): {reply['error']}")
        except BaseException:
            with self._lock:
                self._steps.pop(key, None)
            raise
        step.pid = int(reply["pid"])
        return step.pid

    def kill(self, key: str, sig: int = signal.SIGTERM, grace: float = 2.0) -> None:
        """Stop a child and everything in its process group: ``sig``, then SIGKILL after ``grace``.

        Blocking until the child has exited (at most about ``grace`` seconds), except from inside
        ``on_exit``, where it returns once the signal is sent (the server still escalates). A key
        that is not running (already exited, or unknown) is ignored.

        Raises:
            ExecutionError: the server is not running, or the child survived SIGKILL.
        """
        with self._lock:
            step = self._steps.get(key)
            closing = self._state == "closing"
        if step is None:
            return
        if not closing:  # when closing, the server is already stopping every child
            self._call({"op": "kill", "key": key, "sig": int(sig), "grace": float(grace)})
        if threading.current_thread() is self._reader:
            return  # its exit is read by this very thread once the callback returns
        if not step.exited.wait(grace + 5.0):
            raise ExecutionError(
                f"step '{key}' (pid {step.pid}) did not exit after signal {int(sig)} and SIGKILL; "
                "it may be stuck in the kernel (uninterruptible I/O)"
            )

    def warm(self, modules: Sequence[str]) -> None:
        """Have the server import ``modules`` in the background, best effort (a module that fails
        or starts a thread is skipped), so later children start with them. Non-blocking (one
        request); names already imported or already tried cost nothing.

        Raises:
            ExecutionError: the server is not running.
        """
        self.wait_ready()
        self._call({"op": "warm", "key": "(warm)", "modules": [str(m) for m in modules]})

    def running(self) -> set[str]:
        """Keys of the children submitted and not yet reported as exited. Non-blocking."""
        with self._lock:
            return set(self._steps)

    # -- internals -----------------------------------------------------------------------------

    def _check_running(self, key: str) -> None:
        if self._state != "running":
            proc_rc = self._proc.poll() if self._proc is not None else None
            detail = f" (server exit code {proc_rc})" if proc_rc is not None else ""
            raise ExecutionError(
                f"cannot run step '{key}': the fork server is {self._state}{detail}; "
                "start() it first, or create a new ForkServer"
            )

    def _call(self, request: dict[str, Any]) -> dict[str, Any]:
        """Send one request and read its reply. Blocking; serialized by ``_rpc_lock``."""
        with self._rpc_lock:
            with self._lock:
                self._check_running(str(request["key"]))
            proc = self._proc
            assert proc is not None and proc.stdin is not None and proc.stdout is not None
            try:
                proc.stdin.write(json.dumps(request).encode() + b"\n")
                proc.stdin.flush()
                line = proc.stdout.readline()
                error = None
            except OSError as exc:
                line, error = b"", exc
            if not line:
                raise ExecutionError(
                    f"the fork server (pid {proc.pid}) went away while handling step "
                    f"'{request['key']}'; see its stderr (the controller's console) for why"
                ) from error
            reply: dict[str, Any] = json.loads(line)
            return reply

    def _await_ready(self, startup_log: IO[bytes]) -> int:
        """Wait for the server's first line; return its pid or raise with its start-up stderr."""
        proc = self._proc
        assert proc is not None and proc.stdout is not None
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            timed_out = not sel.select(self.START_TIMEOUT)
        # The server writes that line in one write, so readline() cannot stall on half of it.
        message: dict[str, Any] = {} if timed_out else json.loads(proc.stdout.readline() or b"{}")
        if "ready" in message:
            return int(message["ready"])
        if timed_out:
            reason = f"not ready after {self.START_TIMEOUT:.0f} s importing {list(self._preload)}"
        else:
            code = proc.wait(10.0)  # it exits right after reporting, so its stderr is complete
            reason = message.get("error") or f"it exited with code {code}"
        startup_log.seek(0)
        text = startup_log.read()[-4000:].decode(errors="replace").rstrip() or "(nothing)"
        raise ExecutionError(f"the fork server failed to start: {reason}\n--- fork server stderr ---\n{text}")

    def _read_events(self) -> None:
        """Reader thread: turn exit events into ``on_exit`` calls until the server's pipe closes."""
        buf = bytearray()
        while data := os.read(self._events_fd, 65536):
            buf += data
            while (end := buf.find(b"\n")) >= 0:
                event = json.loads(bytes(buf[:end]))
                del buf[: end + 1]
                self._report(str(event["key"]), int(event["rc"]))
        os.close(self._events_fd)
        self._on_server_gone()

    def _report(self, key: str, returncode: int) -> None:
        with self._lock:
            step = self._steps.pop(key, None)
        if step is None:
            return
        step.exited.set()
        if self._on_exit is not None:
            try:
                self._on_exit(key, returncode)
            except Exception:
                logger.exception("on_exit callback failed for step '%s' (exit code %d)", key, returncode)

    def _on_server_gone(self) -> None:
        # The server reports every child before it exits. Any still listed means it died (killed,
        # crashed): they are orphans now, so kill their groups and report them as killed.
        with self._lock:
            if self._state != "closing":
                self._state = "dead"
            orphans = list(self._steps.items())
        if orphans:
            logger.error("fork server pid %s died; killing its %d running step(s)", self.pid, len(orphans))
        for key, step in orphans:
            if step.pid:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(step.pid, signal.SIGKILL)
            self._report(key, -signal.SIGKILL)


def imported_modules() -> list[str]:
    """The standard-library and site-packages modules this process has imported (public names,
    deepest of each package chain): what a warm worker preloads for its steps by default."""
    return warmable(list(sys.modules), sys.modules, library_roots())


def imports_of(function: Callable[..., Any]) -> list[str]:
    """The absolute module names ``function``'s source imports (``import a.b`` -> ``a.b``,
    ``from a.b import c`` -> ``a.b`` and ``a.b.c``, which may be a submodule), found by parsing
    it, without importing anything; ``[]`` when its source cannot be read. For
    :meth:`ForkServer.warm`: names that turn out not to be modules are skipped there."""
    import ast  # lazy: only callers that warm by source pay for the parser
    import inspect
    import textwrap

    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    except (OSError, TypeError, SyntaxError):
        return []
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
            names.extend(f"{node.module}.{a.name}" for a in node.names if a.name != "*")
    return list(dict.fromkeys(names))


def _dup_or_devnull(fd: int) -> int:
    try:
        return os.dup(fd)
    except OSError:  # no such console (a daemon with fd 1 closed)
        return os.open(os.devnull, os.O_WRONLY)
