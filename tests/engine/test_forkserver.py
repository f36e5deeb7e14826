"""ForkServer on real processes: exit codes, env/cwd/sys_path, kill, process groups, either side dying."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from taskmill.engine.forkserver import ForkServer
from taskmill.errors import ExecutionError

ROOT = str(Path(__file__).resolve().parents[2])
T = "tests.engine.resources.targets"

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="fork server is POSIX only")


class Exits:
    """An ``on_exit`` callback that records every report and lets the test wait for one."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.codes: dict[str, list[int]] = {}

    def __call__(self, key: str, returncode: int) -> None:
        with self._cond:
            self.codes.setdefault(key, []).append(returncode)
            self._cond.notify_all()

    def wait(self, key: str, timeout: float = 5.0) -> int:
        with self._cond:
            assert self._cond.wait_for(lambda: key in self.codes, timeout), f"no exit reported for {key}"
            return self.codes[key][0]


def alive(pid: int) -> bool:
    """True if ``pid`` runs; a zombie counts as gone (PID 1 in a container may never reap it)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return not Path("/proc").is_dir()
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll ``predicate`` (test code only); return the seconds it took."""
    start = time.monotonic()
    while not predicate():
        assert time.monotonic() - start < timeout, f"timed out after {timeout} s waiting for {what}"
        time.sleep(0.005)
    return time.monotonic() - start


@pytest.fixture
def preload_log(tmp_path: Path) -> Path:
    return tmp_path / "preload.log"


@pytest.fixture
def exits() -> Exits:
    return Exits()


@pytest.fixture
def server(preload_log: Path, exits: Exits) -> Iterator[ForkServer]:
    env = {**os.environ, "TM_PRELOAD_LOG": str(preload_log)}
    fs = ForkServer(preload=("tests.engine.resources.preloaded",), sys_path=[ROOT], env=env, on_exit=exits)
    fs.start()
    yield fs
    fs.close()
    assert fs.running() == set()


def test_exit_codes(server: ForkServer, exits: Exits, tmp_path: Path) -> None:
    server.submit("none", f"{T}:nothing")
    server.submit("int", f"{T}:exit_with", args=["7"])
    err = tmp_path / "err.txt"
    server.submit("raise", f"{T}:fail", args=[str(err)])
    assert exits.wait("none") == 0
    assert exits.wait("int") == 7
    assert exits.wait("raise") == 1
    text = err.read_text()
    assert "Traceback (most recent call last)" in text and "RuntimeError: step exploded on purpose" in text


def test_env_cwd_and_argv_are_applied(server: ForkServer, exits: Exits, tmp_path: Path) -> None:
    out, work = tmp_path / "out.txt", tmp_path / "work"
    work.mkdir()
    server.submit("d", f"{T}:describe", args=[str(out), "TM_VAR"], env={"TM_VAR": "hello"}, cwd=str(work))
    assert exits.wait("d") == 0
    var, cwd, argv, preloaded = out.read_text().splitlines()
    assert (var, cwd, preloaded) == ("hello", str(work), "True")
    assert argv == f"{T}:describe {out} TM_VAR"
    # env is per child: the next one does not see it, and starts in the server's cwd.
    server.submit("d2", f"{T}:describe", args=[str(out), "TM_VAR"])
    assert exits.wait("d2") == 0
    assert out.read_text().splitlines()[0] == "None"


def test_sys_path_makes_a_module_written_later_importable(tmp_path: Path, exits: Exits) -> None:
    folder = tmp_path / "steps"
    folder.mkdir()
    with ForkServer(preload=(), sys_path=[str(folder)], on_exit=exits) as fs:
        # Written after the server started: the child must not use a stale import cache.
        (folder / "tm_late_module.py").write_text("def run(path):\n    open(path, 'w').write('ok')\n")
        out = tmp_path / "out.txt"
        fs.submit("late", "tm_late_module:run", args=[str(out)])
        assert exits.wait("late") == 0
    assert out.read_text() == "ok"


def test_preload_module_is_imported_once_in_the_server(
    server: ForkServer, exits: Exits, preload_log: Path, tmp_path: Path
) -> None:
    for i in range(5):
        server.submit(f"c{i}", "tests.engine.resources.preloaded:touch", args=[str(tmp_path / f"{i}.pid")])
    for i in range(5):
        assert exits.wait(f"c{i}") == 0
    assert preload_log.read_text().splitlines() == [f"imported in {server.pid}"]
    child_pids = {(tmp_path / f"{i}.pid").read_text() for i in range(5)}
    assert len(child_pids) == 5 and str(server.pid) not in child_pids


def test_many_concurrent_children_each_report_exactly_once(server: ForkServer, exits: Exits) -> None:
    # long enough that none has exited before they are all counted, even on a loaded machine
    pids = {server.submit(f"s{i}", f"{T}:sleep", args=["2"]) for i in range(20)}
    assert len(pids) == 20
    assert server.running() == {f"s{i}" for i in range(20)}
    for i in range(20):
        assert exits.wait(f"s{i}", timeout=15) == 0
    time.sleep(0.05)  # room for a duplicate report to show up
    assert all(len(codes) == 1 for codes in exits.codes.values()) and len(exits.codes) == 20
    assert server.running() == set()


def test_a_failing_on_exit_callback_is_logged_and_reports_go_on(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[str] = []

    def flaky(key: str, returncode: int) -> None:
        seen.append(key)
        if key == "first":
            raise RuntimeError("callback bug")

    with ForkServer(preload=(), sys_path=[ROOT], on_exit=flaky) as fs:
        fs.submit("first", f"{T}:nothing")
        wait_until(lambda: seen == ["first"], 5, "the first report")
        fs.submit("second", f"{T}:nothing")
        wait_until(lambda: seen == ["first", "second"], 5, "the second report")
    assert "on_exit callback failed for step 'first'" in caplog.text


def test_on_exit_can_submit_the_next_step(tmp_path: Path) -> None:
    # The controller's pattern: a step's exit report starts the next one, on the reader thread.
    done = threading.Event()
    order: list[str] = []

    def next_step(key: str, returncode: int) -> None:
        order.append(f"{key}={returncode}")
        n = int(key[1:]) + 1
        if n < 5:
            fs.submit(f"c{n}", f"{T}:exit_with", args=[str(n)])
        else:
            done.set()

    with ForkServer(preload=(), sys_path=[ROOT], on_exit=next_step) as fs:
        fs.submit("c0", f"{T}:exit_with", args=["0"])
        assert done.wait(5)
    assert order == ["c0=0", "c1=1", "c2=2", "c3=3", "c4=4"]


def test_kill_stops_the_child_and_its_grandchild(server: ForkServer, exits: Exits, tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    child = server.submit("k", f"{T}:sleep_with_grandchild", args=[str(pid_file)])
    wait_until(pid_file.exists, 5, "the grandchild to start")
    grandchild = int(pid_file.read_text())
    assert alive(grandchild)
    start = time.monotonic()
    server.kill("k")
    assert time.monotonic() - start < 1.0
    assert exits.wait("k") == -signal.SIGTERM
    wait_until(lambda: not alive(grandchild) and not alive(child), 2, "the grandchild to die")
    server.kill("k")  # no longer running: ignored


def test_kill_escalates_to_sigkill_after_grace(server: ForkServer, exits: Exits, tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    server.submit("stubborn", f"{T}:ignore_sigterm", args=[str(ready)])
    wait_until(ready.exists, 5, "the child to ignore SIGTERM")
    start = time.monotonic()
    server.kill("stubborn", grace=0.2)
    assert 0.15 < time.monotonic() - start < 1.5
    assert exits.wait("stubborn") == -signal.SIGKILL


def test_processes_a_step_leaves_behind_are_swept(server: ForkServer, exits: Exits, tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    server.submit("leaver", f"{T}:leave_grandchild", args=[str(pid_file)])
    assert exits.wait("leaver") == 0
    grandchild = int(pid_file.read_text())
    wait_until(lambda: not alive(grandchild), 2, "the left-behind grandchild to be killed")


def test_the_steps_own_exit_handlers_run(server: ForkServer, exits: Exits, tmp_path: Path) -> None:
    out = tmp_path / "atexit.txt"
    server.submit("a", f"{T}:with_atexit", args=[str(out)])
    assert exits.wait("a") == 0
    assert out.read_text() == "ran\n"


def test_the_child_exits_like_an_interpreter_does_with_threads_left(
    server: ForkServer, exits: Exits, tmp_path: Path
) -> None:
    out = tmp_path / "threads.txt"
    server.submit("t", f"{T}:leave_threads", args=[str(out)])
    assert exits.wait("t") == 0
    assert out.read_text() == "thread\n"  # the non-daemon thread was joined, the pool shut down


def test_bad_target_exits_non_zero_with_a_clear_message(
    capfd: pytest.CaptureFixture[str], exits: Exits, tmp_path: Path
) -> None:
    # Children write to the server's stderr, which is this process's fd 2 (captured by capfd).
    with ForkServer(preload=(), sys_path=[ROOT], on_exit=exits) as fs:
        fs.submit("nomod", "tests.engine.resources.no_such_module:run")
        fs.submit("nofunc", f"{T}:no_such_function")
        assert exits.wait("nomod") == 2
        assert exits.wait("nofunc") == 2
    err = capfd.readouterr().err
    assert "step 'nomod': cannot load target 'tests.engine.resources.no_such_module:run'" in err
    assert "No module named 'tests.engine.resources.no_such_module'" in err
    assert f"step 'nofunc': cannot load target '{T}:no_such_function'" in err
    assert "ForkServer(sys_path=...)" in err
    with pytest.raises(ValueError, match=r"package\.module:function"):
        fs.submit("x", "no_colon")


def test_duplicate_key_and_closed_server_are_errors(server: ForkServer, exits: Exits) -> None:
    server.submit("dup", f"{T}:sleep", args=["5"])
    with pytest.raises(ExecutionError, match="step 'dup' is already running"):
        server.submit("dup", f"{T}:nothing")
    server.close()
    assert exits.wait("dup") == -signal.SIGTERM
    server.close()  # idempotent
    with pytest.raises(ExecutionError, match="fork server is closed"):
        server.submit("late", f"{T}:nothing")


def test_close_kills_children_and_stops_the_server(server: ForkServer, exits: Exits) -> None:
    children = [server.submit(f"z{i}", f"{T}:sleep", args=["30"]) for i in range(3)]
    server_pid = server.pid
    assert server_pid is not None
    start = time.monotonic()
    server.close()
    assert time.monotonic() - start < 1.5
    assert [exits.wait(f"z{i}") for i in range(3)] == [-signal.SIGTERM] * 3
    assert not any(alive(pid) for pid in [*children, server_pid])


@pytest.mark.parametrize(
    ("module", "expected"),
    [
        ("tests.engine.resources.no_such_module", "No module named 'tests.engine.resources.no_such_module'"),
        ("tests.engine.resources.broken", "broken module: import-time failure on purpose"),
        ("tests.engine.resources.threaded", "started threads (threaded-resource)"),
    ],
)
def test_bad_preload_module_fails_start(module: str, expected: str) -> None:
    fs = ForkServer(preload=(module,), sys_path=[ROOT])
    with pytest.raises(ExecutionError) as info:
        fs.start()
    message = str(info.value)
    assert f"preload module '{module}'" in message and expected in message
    assert fs.pid is not None and not alive(fs.pid)
    fs.close()


def test_bad_python_fails_start(tmp_path: Path) -> None:
    with pytest.raises(ExecutionError, match="cannot start the fork server with python"):
        ForkServer(python=str(tmp_path / "no-python")).start()


def test_server_death_reports_running_children_as_killed(exits: Exits) -> None:
    with ForkServer(preload=(), sys_path=[ROOT], on_exit=exits) as fs:
        child = fs.submit("orphan", f"{T}:sleep", args=["30"])
        assert fs.pid is not None
        os.kill(fs.pid, signal.SIGKILL)
        assert exits.wait("orphan") == -signal.SIGKILL
        wait_until(lambda: not alive(child), 2, "the orphaned child to be killed")
        with pytest.raises(ExecutionError, match="fork server is dead"):
            fs.submit("next", f"{T}:nothing")


def test_client_death_kills_server_and_children(tmp_path: Path) -> None:
    out = tmp_path / "pids.json"
    client = subprocess.Popen(
        [sys.executable, "-m", "tests.engine.resources.client", ROOT, str(out)], cwd=ROOT
    )
    try:
        wait_until(out.exists, 10, "the client to start its fork server")
        pids = json.loads(out.read_text())
        assert alive(pids["server"]) and alive(pids["child"])
        client.kill()
        client.wait()
        took = wait_until(
            lambda: not alive(pids["server"]) and not alive(pids["child"]), 2.5, "server and child to exit"
        )
        assert took < 2.0
    finally:
        client.kill()
        client.wait()
