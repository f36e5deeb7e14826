"""The interpreter hooks: the main task ends with the process (failed, stopped or completed)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from taskmill import Task
from taskmill.api.session import PROCESS

from ..conftest import RunScript

TASKMILL = str(Path(sys.executable).parent / "taskmill")


def only_task(project: str = "demo") -> Task:
    (task,) = Task.get_tasks(project_name=project)
    return task


def test_uncaught_exception_fails_with_traceback(run_script: RunScript) -> None:
    proc = run_script(
        """
        from taskmill import Task
        Task.init(project_name="demo", task_name="boom")
        print("before")
        raise RuntimeError("exploded here")
        """
    )
    assert proc.returncode == 1
    assert "exploded here" in proc.stderr
    task = only_task()
    assert task.status == "failed"
    assert "RuntimeError: exploded here" in task.data.status_reason
    log = "\n".join(task.get_reported_console_output())
    assert "before" in log and "Traceback" in log and "exploded here" in log


def test_ctrl_c_stops_the_task(run_script: RunScript) -> None:
    proc = run_script(
        """
        from taskmill import Task
        Task.init(project_name="demo", task_name="interrupted")
        print("working")
        raise KeyboardInterrupt
        """
    )
    assert proc.returncode != 0
    task = only_task()
    assert task.status == "stopped"
    assert task.get_status_message() == "interrupted (KeyboardInterrupt)"
    assert "working" in task.get_reported_console_output()


def test_argparse_results_are_connected_to_the_main_task(run_script: RunScript) -> None:
    proc = run_script(
        """
        import argparse
        from taskmill import Task
        Task.init(project_name="demo", task_name="args")
        parser = argparse.ArgumentParser()
        parser.add_argument("--depth", type=int, default=2)
        known, rest = parser.parse_known_args(["--depth", "5", "--other"])
        assert rest == ["--other"]
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert only_task().get_parameters() == {"Args/depth": 5}


ARGS_FIRST = """
    import argparse
    from pathlib import Path
    from taskmill import Task
    parser = argparse.ArgumentParser()
    parser.add_argument("--x", type=int, default=1)
    parser.add_argument("--out", default="out.txt")
    args = parser.parse_args()  # before Task.init, as many scripts do
    Task.init(project_name="demo", task_name="args first")
    Path(args.out).write_text(f"{args.x} {type(args.x).__name__}")
    """


def test_argparse_parsed_before_init_is_connected_and_restored_under_an_agent(
    run_script: RunScript, tmp_path: Path, tm_home: Path
) -> None:
    local_out = tmp_path / "local.txt"
    proc = run_script(ARGS_FIRST, "--x", "3", "--out", str(local_out))
    assert proc.returncode == 0, proc.stderr
    original = only_task()
    assert original.get_parameters() == {"Args/x": 3, "Args/out": str(local_out)}
    assert local_out.read_text() == "3 int"

    agent_out = tmp_path / "agent.txt"
    clone = Task.clone(original, name="args first, edited")
    clone.set_parameters({"Args/x": 7, "Args/out": str(agent_out)})
    PROCESS.session().store.create_queue("default")
    Task.enqueue(clone, queue_name="default")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKMILL_")}
    agent = subprocess.run(
        [TASKMILL, "agent", "--queue", "default", "--burst"],
        env={**env, "TASKMILL_HOME": str(tm_home)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert agent.returncode == 0, agent.stdout + agent.stderr
    assert Task.get_task(task_id=clone.id).status == "completed", agent.stdout + agent.stderr
    assert agent_out.read_text() == "7 int"  # the edited value, cast to the argument's type
