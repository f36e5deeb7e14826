"""Whether a run's controller process still runs: this host only, zombies and reused pids gone."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

from taskmill.core.model import TaskRecord
from taskmill.runs.processes import controller_info, pid_alive
from taskmill.types import JSONValue


def _run(pid: int | str | None, host: str, last_update: float | None = None) -> TaskRecord:
    runtime: dict[str, JSONValue] = {"controller_pid": pid, "controller_host": host}
    when = time.time() if last_update is None else last_update
    return TaskRecord(id="r", name="etl #1", project="p", runtime=runtime, last_update=when)


def test_a_controller_on_this_host_is_checked() -> None:
    here = socket.gethostname()
    info = controller_info(_run(os.getpid(), here))
    assert (info.pid, info.local, info.alive) == (os.getpid(), True, True)
    assert controller_info(_run(str(os.getpid()), here)).alive is True  # recorded as text
    assert controller_info(_run(None, here)).alive is False


def test_a_pid_started_after_the_run_was_last_updated_is_not_its_controller() -> None:
    # this process started long after a run last updated at the epoch: it cannot be its controller
    old = controller_info(_run(os.getpid(), socket.gethostname(), last_update=0.0))
    assert old.alive is False


def test_a_controller_elsewhere_cannot_be_told() -> None:
    info = controller_info(_run(123, "elsewhere.example"))
    assert (info.pid, info.host, info.local, info.alive) == (123, "elsewhere.example", False, None)


def test_an_exited_process_is_gone_even_before_it_is_reaped() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while pid_alive(proc.pid) and time.monotonic() < deadline:  # a zombie until wait() below
        time.sleep(0.02)
    assert not pid_alive(proc.pid)
    proc.wait()
    assert not pid_alive(proc.pid)
    assert pid_alive(os.getpid())
