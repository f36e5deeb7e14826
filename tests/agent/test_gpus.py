"""``taskmill agent --gpus`` / ``--cpu-only``: which GPUs the agent's tasks see (ClearML's options)."""

from __future__ import annotations

from pathlib import Path

import pytest

from taskmill.store.base import TaskStore
from tests.agent.conftest import Agents, enqueue, log_text, record, script_task, write

SHOW_GPUS = """
import os
from taskmill import Task
Task.init()
print("GPUS=" + repr(os.environ.get("CUDA_VISIBLE_DEVICES")))
"""


@pytest.mark.parametrize(("args", "seen"), [(["--gpus", "1, 3"], "'1,3'"), (["--cpu-only"], "''")])
def test_tasks_see_the_agents_gpus(
    args: list[str], seen: str, agents: Agents, store: TaskStore, tmp_path: Path
) -> None:
    task = script_task(write(tmp_path / "gpus.py", SHOW_GPUS))
    enqueue(task)
    done = agents.run("-q", "default", "--burst", *args, env={"CUDA_VISIBLE_DEVICES": "7"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert record(store, task).status.value == "completed"
    assert f"GPUS={seen}" in log_text(store, task)


def test_without_options_tasks_inherit_the_agents_setting(
    agents: Agents, store: TaskStore, tmp_path: Path
) -> None:
    task = script_task(write(tmp_path / "gpus.py", SHOW_GPUS))
    enqueue(task)
    done = agents.run("-q", "default", "--burst", env={"CUDA_VISIBLE_DEVICES": "7"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "GPUS='7'" in log_text(store, task)


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--gpus", "0,,1"], "is not a list of GPU indexes"), (["--gpus", "0", "--cpu-only"], "not both")],
)
def test_bad_gpu_options_are_refused(args: list[str], message: str, agents: Agents) -> None:
    done = agents.run("-q", "default", "--burst", *args)
    assert done.returncode == 2 and message in done.stderr, done.stderr
