"""Task.init in real processes: tracking, console capture, exit status, agent attach."""

from __future__ import annotations

import subprocess
from pathlib import Path

from taskmill import Task
from taskmill.core.states import TaskStatus

from .conftest import RunScript


def only_task(project: str = "demo") -> Task:
    (task,) = Task.get_tasks(project_name=project)
    return task


def test_script_run_is_tracked_and_completed(run_script: RunScript, tmp_path: Path) -> None:
    proc = run_script(
        """
        import argparse
        from taskmill import Task
        task = Task.init(project_name="demo", task_name="train")
        parser = argparse.ArgumentParser()
        parser.add_argument("--lr", type=float, default=0.1)
        args = parser.parse_args()
        cfg = task.connect({"epochs": 3, "arch": "mlp"})
        task.connect_configuration({"layers": [4, 8]}, name="model")
        for i in range(3):
            task.get_logger().report_scalar("loss", "train", 1.0 / (i + 1), iteration=i)
        print("epochs", cfg["epochs"], "lr", args.lr)
        """,
        "--lr",
        "0.5",
    )
    assert proc.returncode == 0, proc.stderr
    assert "epochs 3 lr 0.5" in proc.stdout  # the console still prints
    task = only_task()
    assert task.name == "train" and task.status == "completed"
    assert task.get_parameters() == {"Args/lr": 0.5, "General/epochs": 3, "General/arch": "mlp"}
    assert task.get_configuration_object_as_dict("model") == {"layers": [4, 8]}
    assert task.get_reported_scalars()["loss"]["train"] == {"x": [0, 1, 2], "y": [1.0, 0.5, 1.0 / 3]}
    assert "epochs 3 lr 0.5" in task.get_reported_console_output()
    info = task.get_script_info()
    assert info.entry_point.endswith("script.py")
    assert "taskmill==" in info.requirements


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


def test_git_repo_commit_and_diff_are_recorded(run_script: RunScript, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-c", "user.email=t@e", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=repo, check=True)
    (repo / "script.py").write_text("# placeholder\n")
    subprocess.run([*git, "add", "."], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "init"], cwd=repo, check=True)
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True
    ).stdout.strip()
    proc = run_script(
        """
        from taskmill import Task
        Task.init(project_name="demo", task_name="git")
        """,
        cwd=repo,
    )
    assert proc.returncode == 0, proc.stderr
    info = only_task().get_script_info()
    assert info.commit == commit and info.branch == "main"
    assert info.entry_point == "script.py" and info.repository == str(repo)
    assert "+from taskmill import Task" in info.diff  # the uncommitted edit of script.py


def test_attach_under_agent_uses_stored_values(run_script: RunScript, tm_home: Path) -> None:
    draft = Task.create(project_name="demo", task_name="remote")
    draft.set_parameters({"General/epochs": 7, "Args/lr": 0.01})
    draft.set_configuration_object("model", config_dict={"layers": [1]})
    proc = run_script(
        """
        import argparse
        from taskmill import Task
        task = Task.init(project_name="ignored", task_name="ignored")
        assert not Task.running_locally()
        p = argparse.ArgumentParser(); p.add_argument("--lr", type=float, default=0.1)
        args = p.parse_args()
        cfg = task.connect({"epochs": 3, "batch": 32})
        model = task.connect_configuration({"layers": [9, 9]}, name="model")
        print("RESULT", task.id, cfg["epochs"], cfg["batch"], args.lr, model["layers"])
        assert task.execute_remotely(queue_name="default") is None  # no-op under an agent
        print("still running")
        """,
        env={"TASKMILL_TASK_ID": draft.id},
    )
    assert proc.returncode == 0, proc.stderr
    assert f"RESULT {draft.id} 7 32 0.01 [1]" in proc.stdout
    assert "still running" in proc.stdout
    assert draft.status == "completed"
    assert draft.get_parameters()["General/batch"] == 32  # new keys are recorded


def test_execute_remotely_enqueues_and_exits(run_script: RunScript) -> None:
    Task.init  # noqa: B018 - the API is importable before any store exists
    from taskmill.api.session import PROCESS

    PROCESS.session().store.create_queue("gpu")
    proc = run_script(
        """
        from taskmill import Task
        task = Task.init(project_name="demo", task_name="handoff")
        task.connect({"x": 1})
        task.execute_remotely(queue_name="gpu")
        print("SHOULD NOT PRINT")
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert "SHOULD NOT PRINT" not in proc.stdout
    task = only_task()
    assert task.status == TaskStatus.queued.value
    assert task.data.queue == "gpu"


def test_init_twice_returns_same_task(run_script: RunScript) -> None:
    proc = run_script(
        """
        from taskmill import Task
        a = Task.init(project_name="demo", task_name="one")
        b = Task.init(project_name="demo", task_name="two")
        assert a is b and Task.current_task() is a
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert only_task().name == "one"
