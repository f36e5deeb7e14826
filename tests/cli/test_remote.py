"""``taskmill run-remote``: a script becomes a queued task that a real agent runs with its options."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from taskmill.cli.remote import script_args
from taskmill.core.states import TaskStatus
from taskmill.store.factory import open_store

TASKMILL = Path(sys.executable).with_name("taskmill")

SCRIPT = """
import argparse, json, pathlib
from taskmill import Task

task = Task.init(project_name="ignored", task_name="ignored")
parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=1.0)
parser.add_argument("--batch-size", type=int, default=8)
parser.add_argument("--out", default="")
args = parser.parse_args()
pathlib.Path(args.out).write_text(json.dumps({"lr": args.lr, "batch_size": args.batch_size}))
print("trained with", args.lr, args.batch_size)
"""


def test_script_args_become_argparse_destinations() -> None:
    assert script_args(["--lr", "0.1", "--batch-size=4", "--fast", "--x", "-1"]) == [
        ("lr", "0.1"),
        ("batch_size", "4"),
        ("fast", "true"),
        ("x", "-1"),
    ]
    with pytest.raises(ValueError, match=r"script argument .data\.csv. is positional"):
        script_args(["data.csv"])


def test_run_remote_queues_a_script_an_agent_runs(tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(SCRIPT))
    out = tmp_path / "result.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKMILL_")}
    env["TASKMILL_HOME"] = str(tmp_path / "home")

    def taskmill(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(TASKMILL), *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
        )

    sent = taskmill(
        "run-remote", str(script), "--queue", "jobs", "--project", "cli-remote", "--name", "lr test",
        "--", "--lr", "0.25", "--batch-size=32", "--out", str(out),
    )  # fmt: skip
    assert sent.returncode == 1  # no queue 'jobs' yet: refused, the draft is named
    assert "no queue named 'jobs'" in sent.stderr and "stays a draft" in sent.stderr

    assert taskmill("queues", "create", "jobs").returncode == 0
    sent = taskmill(
        "run-remote", str(script), "-q", "jobs", "-p", "cli-remote", "-n", "lr test",
        "--", "--lr", "0.25", "--batch-size=32", "--out", str(out),
    )  # fmt: skip
    assert sent.returncode == 0, sent.stderr
    task_id = sent.stdout.strip()
    assert "queued in 'jobs'" in sent.stderr

    store = open_store(f"sqlite:///{tmp_path / 'home' / 'store.db'}")
    try:
        queued = store.get_task(task_id)
        assert (queued.name, queued.project, queued.status) == ("lr test", "cli-remote", TaskStatus.queued)
        assert queued.script.entry_point.endswith("train.py")
        assert store.get_param_dict(task_id)["Args/lr"] == "0.25"

        agent = taskmill("agent", "--queue", "jobs", "--max-tasks", "1")
        assert agent.returncode == 0, agent.stderr
        assert store.get_task(task_id).status == TaskStatus.completed, agent.stderr
    finally:
        store.close()
    assert json.loads(out.read_text()) == {"lr": 0.25, "batch_size": 32}
