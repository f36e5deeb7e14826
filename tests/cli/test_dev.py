"""``taskmill dev`` as a real process: server + two agents, a remote pipeline, Ctrl-C stops them all."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from taskmill.core.states import TaskStatus, TaskTypes
from taskmill.store.base import TaskFilter
from taskmill.store.http import HttpTaskStore

TASKMILL = Path(sys.executable).with_name("taskmill")
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (from /proc)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _argv(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().split("\0")
    except OSError:
        return []


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKMILL_")}
    env["TASKMILL_HOME"] = str(home)
    return env


def test_dev_runs_a_remote_pipeline_and_stops_everything(tmp_path: Path) -> None:
    started = time.monotonic()
    out = (tmp_path / "dev.out").open("w+")
    dev = subprocess.Popen(
        [str(TASKMILL), "dev", "--port", str(_free_port())],
        env=_clean_env(tmp_path / "home"),
        stdout=out,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while "clients: " not in (text := (tmp_path / "dev.out").read_text()):
            assert dev.poll() is None, text
            assert time.monotonic() < deadline, text
            time.sleep(0.1)
        match = re.search(r"clients: TASKMILL_STORE=(\S+) TASKMILL_API_KEY=(\S+)", text)
        assert match, text
        url, key = match.groups()
        assert f"web UI:  {url}/" in text and f"API key: {key}" in text
        ready = time.monotonic() - started
        children = _descendants(dev.pid)
        assert len(children) >= 3  # server, two agents (and their warm workers)

        client_env = {**_clean_env(tmp_path / "client"), "TASKMILL_STORE": url, "TASKMILL_API_KEY": key}
        submit = subprocess.run(
            [sys.executable, str(EXAMPLES / "pipeline_from_decorator.py"), "--mode", "remote"],
            env=client_env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert submit.returncode == 0, submit.stdout + submit.stderr
        remote = HttpTaskStore(url, key)
        try:
            deadline = time.monotonic() + 240
            while True:
                (run,) = remote.find_tasks(TaskFilter(task_type=(TaskTypes.controller,)))
                if run.status.is_final:
                    break
                assert time.monotonic() < deadline, (tmp_path / "dev.out").read_text()
                time.sleep(0.5)
            assert run.status == TaskStatus.completed, (tmp_path / "dev.out").read_text()
            steps = remote.find_tasks(TaskFilter(parent=run.id))
            assert len(steps) == 4 and all(s.status == TaskStatus.completed for s in steps)
        finally:
            remote.close()
        done = time.monotonic() - started
        children |= _descendants(dev.pid)

        dev.send_signal(signal.SIGINT)
        assert dev.wait(60) == 0
        deadline = time.monotonic() + 10
        while any(_alive(p) for p in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [p for p in children if _alive(p)], "taskmill dev left processes behind"
        assert "server and agents are down" in (tmp_path / "dev.out").read_text()
        print(f"taskmill dev ready in {ready:.1f} s; remote pipeline completed {done:.1f} s after start")
    finally:
        if dev.poll() is None:
            dev.kill()
            dev.wait()
        out.close()


def _start_dev(tmp_path: Path) -> tuple[subprocess.Popen[str], Path]:
    """A ``taskmill dev`` process, once it printed its client line; its output file."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    out_path = tmp_path / "dev.out"
    with out_path.open("w") as out:
        dev = subprocess.Popen(
            [str(TASKMILL), "dev", "--port", str(_free_port())],
            env=_clean_env(tmp_path / "home"),
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    deadline = time.monotonic() + 60
    while "clients: " not in (text := out_path.read_text()):
        assert dev.poll() is None and time.monotonic() < deadline, text
        time.sleep(0.1)
    return dev, out_path


def test_sigterm_and_a_dying_child_stop_everything(tmp_path: Path) -> None:
    dev, out_path = _start_dev(tmp_path / "a")
    try:
        children = _descendants(dev.pid)
        dev.send_signal(signal.SIGTERM)
        assert dev.wait(60) == 0
        assert "stopped (SIGTERM)" in out_path.read_text()
    finally:
        if dev.poll() is None:
            dev.kill()
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [p for p in children if _alive(p)]

    # a second run on the same home reuses its key (not printed again) and stops when a child dies
    dev, out_path = _start_dev(tmp_path / "a")
    try:
        text = out_path.read_text()
        assert "TASKMILL_API_KEY=<your key>" in text and "the store has one already" in text
        children = _descendants(dev.pid)
        server = next(p for p in children if _argv(p)[1:4] == ["-m", "taskmill", "server"])
        os.kill(server, signal.SIGKILL)
        assert dev.wait(60) == 1
        assert "the server exited (code -9): stopping the others" in out_path.read_text()
    finally:
        if dev.poll() is None:
            dev.kill()
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [p for p in children if _alive(p)]


def test_dev_refuses_a_busy_port(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        result = subprocess.run(
            [str(TASKMILL), "dev", "--port", str(port)],
            env=_clean_env(tmp_path / "home"),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert f"port {port} on 127.0.0.1 is in use; give another with --port" in result.stderr
