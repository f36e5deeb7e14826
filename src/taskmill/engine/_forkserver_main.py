"""The fork server process: preload modules once, then fork one child per step.

Started by :class:`taskmill.engine.forkserver.ForkServer` as ``python -P -m
taskmill.engine._forkserver_main CONFIG_JSON`` in a fresh interpreter, so it has no threads when it
forks. The controller never imports this module; it only talks to the process. Stdlib only (and
:mod:`taskmill.engine._forkserver_warm`): what the children need is whatever ``preload`` brought in.

Wire protocol, one JSON object per line:

* stdin (client -> server), requests:
  ``{"op": "spawn", "key", "target", "args", "env", "cwd"}``, ``{"op": "kill", "key", "sig", "grace"}``
  and ``{"op": "warm", "key", "modules"}`` (import those modules in the background, best effort).
  End of file means the client is gone (closed or dead): kill every child and exit.
* stdout (server -> client): first ``{"ready": pid}`` or ``{"error": message}``, then exactly one
  reply per request, in order: ``{"ok": true, "pid": n}`` or ``{"ok": false, "error": message}``.
* the events pipe (fd passed in CONFIG_JSON): ``{"key", "pid", "rc"}`` per child exit, ``rc`` as
  in :attr:`subprocess.Popen.returncode` (negative = killed by that signal).

Replies and events use separate pipes so a client can submit from inside its exit callback: the
reply it waits for never sits behind an event its own reader thread has not consumed yet.

Warming beyond ``preload``: modules named in CONFIG_JSON's ``warm``, sent in a ``warm`` request,
or *learned* (each child reports on a pipe the library modules its step imported) are imported
into the server between requests, so later children start with them. Only standard-library and
site-packages modules are learned (never the user's code, whose import could run a script). Each
batch is tried first in a throw-away forked *probe*: a module that fails or starts a thread there
is never imported by the server (forking with threads can deadlock). Warming never fails the server.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import gc
import importlib
import json
import os
import selectors
import signal
import sys
import threading
import time
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from taskmill.engine._forkserver_warm import library_roots, report_learned

# Signals blocked around fork(): one arriving in the child before it resets its handlers would run
# the server's handler (SIGTERM ignored, a byte written into the server's wakeup pipe).
_FORK_MASK = {signal.SIGTERM, signal.SIGCHLD, signal.SIGINT, signal.SIGHUP}
_LOAD_FAILED = 2  # exit code of a child whose target cannot be loaded (1 = the target raised)
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _prctl() -> Any:
    """libc's ``prctl``, looked up once in the server: a child must not dlopen between fork and exec."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def _die_with_parent(prctl: Any, sig: int, parent: int) -> None:
    """Have the kernel send ``sig`` to this process when its parent ``parent`` dies (Linux).

    The parent may have died before the call took effect, so its pid is checked afterwards.
    """
    if prctl is None:
        return
    prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    if os.getppid() != parent:
        os.kill(os.getpid(), sig)


@dataclass
class _Child:
    key: str
    pid: int
    kill_at: float | None = None  # monotonic time at which SIGTERM escalates to SIGKILL


def _ignore_signal(signum: int, frame: FrameType | None) -> None:
    """Python-level handler: the C handler already wrote ``signum`` to the wakeup fd."""


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class _Server:
    """The request loop. Single-threaded; it sleeps in the selector and never polls."""

    def __init__(
        self, req_fd: int, rep_fd: int, ev_fd: int, shutdown_grace: float, *, learn: bool = True
    ) -> None:
        self._req_fd = req_fd
        self._rep_fd = rep_fd
        self._ev_fd = ev_fd
        self._shutdown_grace = shutdown_grace
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        # Events are buffered and written when the pipe has room: a client busy in a callback must
        # never make the server block, or it would stop answering that same client's requests.
        os.set_blocking(self._ev_fd, False)
        self._sel = selectors.DefaultSelector()
        self._children: dict[int, _Child] = {}
        self._by_key: dict[str, int] = {}
        self._inbuf = bytearray()
        self._evbuf = bytearray()
        self._closing = False
        self._prctl = _prctl()
        self._roots = library_roots()
        self._warm_queue: list[str] = []
        self._warm_tried: set[str] = set()
        self._probe: _Probe | None = None
        # Children write the modules they learned here; non-blocking, so a child never waits for a
        # server busy importing (a full pipe just drops what it learned).
        self._learn_r, self._learn_w = os.pipe() if learn else (-1, -1)
        if learn:
            os.set_blocking(self._learn_r, False)
            os.set_blocking(self._learn_w, False)

    def serve(self) -> None:
        """Answer requests and report exits until the client goes away and every child is reaped."""
        signal.set_wakeup_fd(self._wake_w)
        signal.signal(signal.SIGCHLD, _ignore_signal)
        signal.signal(signal.SIGTERM, _ignore_signal)  # handled in the loop: a clean shutdown
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the controller's to handle
        self._sel.register(self._req_fd, selectors.EVENT_READ)
        self._sel.register(self._wake_r, selectors.EVENT_READ)
        if self._learn_r >= 0:
            self._sel.register(self._learn_r, selectors.EVENT_READ)
        self._start_probe()  # what was queued before serving (CONFIG_JSON's warm list)
        try:
            while not (self._closing and not self._children):
                for sel_key, _ in self._sel.select(self._next_deadline()):
                    if sel_key.fd == self._req_fd:
                        self._read_requests()
                    elif sel_key.fd == self._wake_r:
                        self._on_signals()
                    elif sel_key.fd == self._learn_r:
                        self._read_learned()
                    elif self._probe is not None and sel_key.fd == self._probe.fd:
                        self._read_probe()
                    else:
                        self._flush_events()
                self._escalate()
        finally:
            for pid in self._children:  # only left on an unexpected error: leave no orphan behind
                self._signal_group(pid, signal.SIGKILL)
            if self._probe is not None:
                self._signal_group(self._probe.pid, signal.SIGKILL)
        os.set_blocking(self._ev_fd, True)
        self._flush_events()

    # -- requests ------------------------------------------------------------------------------

    def _read_requests(self) -> None:
        data = os.read(self._req_fd, 65536)
        if not data:
            self._begin_shutdown()
            return
        self._inbuf += data
        while (end := self._inbuf.find(b"\n")) >= 0:
            line = bytes(self._inbuf[:end])
            del self._inbuf[: end + 1]
            try:
                reply = self._handle(json.loads(line))
            except Exception as exc:  # a bad request must not take the server (and its children) down
                reply = {"ok": False, "error": f"fork server could not handle the request: {exc!r}"}
            try:
                _write_all(self._rep_fd, json.dumps(reply).encode() + b"\n")
            except BrokenPipeError:  # the client died while waiting for this reply
                self._begin_shutdown()
                return

    def _handle(self, req: dict[str, Any]) -> dict[str, Any]:
        key = str(req["key"])
        if req["op"] == "spawn":
            if key in self._by_key:
                return {"ok": False, "error": f"step '{key}' is already running (pid {self._by_key[key]})"}
            pid = self._fork(req)
            self._children[pid] = _Child(key, pid)
            self._by_key[key] = pid
            return {"ok": True, "pid": pid}
        if req["op"] == "kill":
            pid = self._by_key.get(key, 0)
            if pid:
                self._signal_group(pid, int(req["sig"]))
                if req["sig"] != signal.SIGKILL:
                    self._children[pid].kill_at = time.monotonic() + float(req["grace"])
            return {"ok": True, "pid": pid}
        if req["op"] == "warm":
            self.want([str(m) for m in req["modules"]])
            return {"ok": True, "pid": 0}
        return {"ok": False, "error": f"unknown request {req['op']!r}"}

    def _fork(self, req: dict[str, Any]) -> int:
        sys.stdout.flush()  # or the child would print the server's buffered output a second time
        sys.stderr.flush()
        old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, _FORK_MASK)
        server_pid = os.getpid()
        try:
            pid = os.fork()
            if pid == 0:
                self._become_child(req, old_mask, server_pid)  # never returns
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
        try:
            # Also set it here, not only in the child: a kill() right after this reply must find the
            # group even if the child has not been scheduled yet.
            os.setpgid(pid, pid)
        except OSError:
            pass  # the child got there first (or already exited); either way the group is right
        return pid

    def _begin_shutdown(self) -> None:
        if self._closing:
            return
        self._closing = True
        self._sel.unregister(self._req_fd)
        if self._probe is not None:
            self._signal_group(self._probe.pid, signal.SIGKILL)
        deadline = time.monotonic() + self._shutdown_grace
        for child in self._children.values():
            self._signal_group(child.pid, signal.SIGTERM)
            child.kill_at = deadline

    # -- children ------------------------------------------------------------------------------

    def _on_signals(self) -> None:
        try:
            signums = os.read(self._wake_r, 4096)
        except BlockingIOError:
            return
        if signal.SIGTERM in signums and not self._closing:
            self._begin_shutdown()
        self._reap()

    def _reap(self) -> None:
        while True:
            try:
                # WNOWAIT: look without reaping. The zombie keeps the pid and its process group
                # reserved, so the sweep below cannot hit an unrelated, recycled group.
                info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                break
            if info is None or info.si_pid == 0:
                break
            child = self._children.pop(info.si_pid, None)
            if child is not None:
                # A step's processes do not outlive the step: sweep what it left in its group.
                self._signal_group(child.pid, signal.SIGKILL)
            _, status = os.waitpid(info.si_pid, 0)
            if child is None:
                continue  # not forked by us (a subprocess a preloaded module left running)
            del self._by_key[child.key]
            rc = os.waitstatus_to_exitcode(status)
            self._evbuf += json.dumps({"key": child.key, "pid": child.pid, "rc": rc}).encode() + b"\n"
        self._flush_events()

    def _flush_events(self) -> None:
        try:
            while self._evbuf:
                del self._evbuf[: os.write(self._ev_fd, self._evbuf)]
        except BlockingIOError:
            pass
        except BrokenPipeError:
            self._evbuf.clear()  # nobody left to tell
        self._watch_events_fd(bool(self._evbuf))

    def _watch_events_fd(self, pending: bool) -> None:
        registered = self._ev_fd in self._sel.get_map()
        if pending and not registered:
            self._sel.register(self._ev_fd, selectors.EVENT_WRITE)
        elif not pending and registered:
            self._sel.unregister(self._ev_fd)

    def _next_deadline(self) -> float | None:
        deadlines = [c.kill_at for c in self._children.values() if c.kill_at is not None]
        return max(0.0, min(deadlines) - time.monotonic()) if deadlines else None

    def _escalate(self) -> None:
        now = time.monotonic()
        for child in self._children.values():
            if child.kill_at is not None and child.kill_at <= now:
                self._signal_group(child.pid, signal.SIGKILL)
                child.kill_at = None

    @staticmethod
    def _signal_group(pid: int, sig: int) -> None:
        try:
            os.killpg(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass  # already gone

    # -- warming -------------------------------------------------------------------------------

    def want(self, modules: Iterable[str], *, start: bool = True) -> None:
        """Queue modules to import here (each once); ``start``: probe now (else ``serve`` does)."""
        for name in modules:
            if name and name not in sys.modules and name not in self._warm_tried:
                self._warm_tried.add(name)
                self._warm_queue.append(name)
        if start:
            self._start_probe()

    def _read_learned(self) -> None:
        try:
            data = os.read(self._learn_r, 65536)
        except BlockingIOError:
            return
        # Whole lines, up to PIPE_BUF bytes a write: none arrives split. "+name": the child ran
        # with no thread left after importing it, so no probe is needed (the step paid the import).
        lines = [ln for ln in data.decode(errors="replace").split("\n") if ln]
        trusted = [ln[1:] for ln in lines if ln[0] == "+" and ln[1:] not in self._warm_tried]
        self._warm_tried.update(trusted)
        self._import_warm(trusted)
        self.want(ln for ln in lines if ln[0] != "+")

    def _start_probe(self) -> None:
        """Fork a probe that tries the queued modules; its verdict arrives on a pipe (non-blocking)."""
        if self._probe is not None or not self._warm_queue or self._closing:
            return
        names, self._warm_queue = self._warm_queue, []
        read_fd, write_fd = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, _FORK_MASK)
        try:
            pid = os.fork()
            if pid == 0:
                self._become_probe(names, write_fd, old_mask)  # never returns
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
        os.close(write_fd)
        with contextlib.suppress(OSError):
            os.setpgid(pid, pid)
        self._probe = _Probe(pid, read_fd, names)
        self._sel.register(read_fd, selectors.EVENT_READ)

    def _become_probe(self, names: list[str], write_fd: int, old_mask: Iterable[int]) -> None:
        try:
            os.setpgid(0, 0)
            _die_with_parent(self._prctl, signal.SIGKILL, os.getppid())
            self._reset_signals(old_mask)
            self._sel.close()
            for fd in self._server_fds():
                os.close(fd)
            devnull = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):  # a module's import-time chatter is not the console's business
                os.dup2(devnull, fd)
            for name in names:
                try:
                    importlib.import_module(name)
                except BaseException:
                    continue
                if threading.active_count() > 1:  # it started a thread: it stays out, the rest
                    _write_all(write_fd, b"!" + name.encode() + b"\n")  # is tried by another probe
                    break
                _write_all(write_fd, name.encode() + b"\n")
        finally:
            os._exit(0)

    def _read_probe(self) -> None:
        probe = self._probe
        assert probe is not None
        data = os.read(probe.fd, 65536)
        if data:
            probe.out += data
            return
        self._sel.unregister(probe.fd)
        os.close(probe.fd)
        self._probe = None
        verdict = bytes(probe.out).decode().split()
        stopped = [n[1:] for n in verdict if n.startswith("!")]
        if stopped and stopped[0] in probe.names:
            self._warm_queue[:0] = probe.names[probe.names.index(stopped[0]) + 1 :]
        if not self._closing:
            self._import_warm([n for n in verdict if not n.startswith("!")])
            self._start_probe()

    def _import_warm(self, names: list[str]) -> None:
        """Import what the probe imported cleanly (blocking: steps would import them anyway)."""
        for name in names:
            if threading.active_count() > 1:
                return  # not after a clean probe; if it happens anyway, import nothing more
            with contextlib.suppress(BaseException):
                importlib.import_module(name)
        gc.freeze()

    # -- in the child --------------------------------------------------------------------------

    def _server_fds(self) -> list[int]:
        """The server's own pipes (a forked child closes them: they are not its to hold open)."""
        fds = [
            self._req_fd,
            self._rep_fd,
            self._ev_fd,
            self._wake_r,
            self._wake_w,
            self._learn_r,
            self._learn_w,
        ]
        if self._probe is not None:
            fds.append(self._probe.fd)
        return [fd for fd in fds if fd >= 0]

    @staticmethod
    def _reset_signals(old_mask: Iterable[int]) -> None:
        signal.set_wakeup_fd(-1)
        for signum in signal.valid_signals():
            if callable(signal.getsignal(signum)) and signum != signal.SIGINT:
                signal.signal(signum, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a fresh interpreter
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)

    def _become_child(self, req: dict[str, Any], old_mask: Iterable[int], server_pid: int) -> None:
        code = 1
        try:
            os.setpgid(0, 0)  # own group: kill() and the sweep reach the step's grandchildren too
            # A server killed outright (SIGKILL, OOM) can sweep nothing: the kernel kills the step then.
            _die_with_parent(self._prctl, signal.SIGKILL, server_pid)
            self._reset_signals(old_mask)
            self._sel.close()  # close only: unregistering would edit the epoll set shared with the server
            for fd in self._server_fds():
                if fd != self._learn_w:
                    os.close(fd)
            code = _run_step(req, self._learn_w, self._roots)
        except BaseException:
            traceback.print_exc()
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code)  # never unwind into the server's loop or run its exit handlers


def _run_step(req: dict[str, Any], learn_fd: int = -1, roots: tuple[str, ...] = ()) -> int:
    """Run ``target(*args)`` the way ``python -c 'sys.exit(f(*args))'`` would, and return the exit code."""
    key, target, args = str(req["key"]), str(req["target"]), [str(a) for a in req["args"]]
    before = set(sys.modules)
    # The server's exit handlers (and those of preloaded modules) belong to the server; the step
    # runs only the ones it registers itself, as a process of its own would.
    atexit._clear()
    if "logging" in sys.modules:
        atexit.register(sys.modules["logging"].shutdown)
    if req.get("env"):
        os.environ.update(req["env"])
    sys.argv = [target, *args]
    module_name, _, attr_path = target.partition(":")
    try:
        if req.get("cwd"):
            os.chdir(req["cwd"])
        importlib.invalidate_caches()  # see modules written since the server started
        func: Any = importlib.import_module(module_name)
        for attr in attr_path.split("."):
            func = getattr(func, attr)
        if not callable(func):
            raise TypeError(f"'{target}' is a {type(func).__name__}, not a function")
    except Exception as exc:
        traceback.print_exc()
        sys.stderr.write(
            f"taskmill fork server: step '{key}': cannot load target '{target}' "
            f"({type(exc).__name__}: {exc}); check the 'package.module:function' name, the step's cwd, "
            "and that the module's folder is in ForkServer(sys_path=...)\n"
        )
        return _LOAD_FAILED
    code = 1
    try:
        code = _exit_code(func(*args))
    except SystemExit as exc:
        code = _exit_code(exc.code)
    except BaseException as exc:
        sys.excepthook(type(exc), exc, exc.__traceback__)  # the Task API's hook marks the task failed
    if learn_fd >= 0:
        report_learned(learn_fd, roots, before)
    # What interpreter shutdown does, in its order: thread-exit hooks (e.g. unclosed thread pools),
    # join non-daemon threads, then exit handlers.
    threading._shutdown()  # type: ignore[attr-defined]
    atexit._run_exitfuncs()
    return code


@dataclass
class _Probe:
    pid: int
    fd: int  # read end of the probe's verdict pipe
    names: list[str]
    out: bytearray = field(default_factory=bytearray)


def _exit_code(result: object) -> int:
    if result is None:
        return 0
    if isinstance(result, int):
        return result
    sys.stderr.write(f"{result}\n")  # sys.exit("message") semantics
    return 1


def _preload(modules: list[str]) -> str | None:
    """Import ``modules``; return an error message (traceback printed to stderr) or None."""
    for name in modules:
        try:
            importlib.import_module(name)
        except BaseException as exc:
            traceback.print_exc()
            return (
                f"cannot import preload module '{name}' ({type(exc).__name__}: {exc}); "
                "install it, fix its import-time error, or remove it from ForkServer(preload=...)"
            )
        if threading.active_count() > 1:
            names = ", ".join(t.name for t in threading.enumerate() if t is not threading.main_thread())
            return (
                f"preload module '{name}' started threads ({names}); forking a process with threads "
                "can deadlock the children. Remove it from ForkServer(preload=...) and let steps import it"
            )
    return None


def main() -> None:
    """Entry point of the server process (see the module docstring for the protocol)."""
    config = json.loads(sys.argv[1])
    if config.get("client_pid"):
        # The client's death is also seen as end of file on stdin; the signal covers a client
        # whose pipe another process still holds. SIGTERM: a clean shutdown that sweeps every group.
        _die_with_parent(_prctl(), signal.SIGTERM, int(config["client_pid"]))
    # Move the protocol off fds 0/1 so that children inherit /dev/null and the real console there.
    req_fd, rep_fd = os.dup(0), os.dup(1)
    sys.path[:0] = config["sys_path"]
    error = _preload(config["preload"])
    if error is not None:
        sys.stderr.flush()
        _write_all(rep_fd, json.dumps({"error": error}).encode() + b"\n")
        os._exit(1)  # not sys.exit: a thread or exit handler of a half-imported module could hang it
    gc.freeze()  # preloaded objects move out of the collector's reach: fewer copy-on-write pages
    sys.stdout.flush()
    sys.stderr.flush()
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    # From here on stderr is the console too; the start-up log (a file the client reads) is done.
    os.dup2(config["stdout_fd"], 1)
    os.dup2(config["stderr_fd"], 2)
    os.close(config["stdout_fd"])
    os.close(config["stderr_fd"])
    server = _Server(
        req_fd, rep_fd, config["events_fd"], config["shutdown_grace"], learn=bool(config.get("learn", True))
    )
    _write_all(rep_fd, json.dumps({"ready": os.getpid()}).encode() + b"\n")
    with open(config["warm_fd"], "rb") as warm_file:  # one name a line; warmed once serving
        server.want(warm_file.read().decode().split(), start=False)
    server.serve()


if __name__ == "__main__":
    main()
