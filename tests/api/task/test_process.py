"""Console and script capture of a process's main task (real interpreters)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from taskmill import Task

from ..conftest import RunScript


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
