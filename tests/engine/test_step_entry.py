"""The step process entry point and running it from a cluster worker."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

from taskmill.engine.step_entry import LOAD_FAILED, call_target, main, run_step_process


def test_call_target_returns_the_function_result_as_an_exit_code() -> None:
    assert call_target("os.path:isabs", "/x") == 1  # True -> 1, as sys.exit(True) would
    assert call_target("os.path:isabs", "x") == 0
    assert call_target("no_such_module_here:f", "x") == LOAD_FAILED
    assert main(["only-one"]) == LOAD_FAILED


def test_run_step_process_reports_the_exit_code(tmp_path: Path) -> None:
    code = run_step_process([sys.executable, "-c", "import sys; sys.exit(7)"], os.environ)
    assert code == 7
    marker = tmp_path / "cwd.txt"
    run_step_process(
        [sys.executable, "-c", f"import os; open({str(marker)!r}, 'w').write(os.getcwd())"],
        os.environ,
        cwd=str(tmp_path),
    )
    assert marker.read_text() == str(tmp_path)


def test_should_stop_kills_the_whole_process_group(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    # the step starts a grandchild (as a step may): stopping must take it down too
    script = (
        "import subprocess, sys, time;"
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']);"
        f"open({str(pid_file)!r}, 'w').write(str(p.pid)); time.sleep(60)"
    )
    stop = threading.Event()
    threading.Timer(1.0, stop.set).start()
    started = time.time()
    code = run_step_process([sys.executable, "-c", script], os.environ, should_stop=stop.is_set, poll=0.05)
    assert code < 0 and time.time() - started < 10
    grandchild = int(pid_file.read_text())
    deadline = time.time() + 5
    while time.time() < deadline:
        try:
            os.kill(grandchild, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the step's grandchild survived the stop")
