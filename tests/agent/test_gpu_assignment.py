"""``taskmill agent --gpus``: a task asking for GPUs gets devices of its own, or waits for them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from taskmill.agent.gpus import GpuPool
from taskmill.core.states import TaskStatus
from taskmill.store.base import TaskStore
from tests.agent.conftest import Agents, enqueue, log_text, record, script_task, write

SHOW = """
import os, time
from taskmill import Task
Task.init()
start = time.time()
time.sleep(2)
print(f"GPUS={os.environ.get('CUDA_VISIBLE_DEVICES')!r} START={start} END={time.time()}")
"""


def _seen(store: TaskStore, task_id: str) -> tuple[str, float, float]:
    found = re.search(r"GPUS='([^']*)' START=([\d.]+) END=([\d.]+)", log_text(store, task_id))
    assert found, log_text(store, task_id)
    return found.group(1), float(found.group(2)), float(found.group(3))


def test_tasks_get_their_own_devices_and_wait_when_all_are_busy(
    agents: Agents, store: TaskStore, tmp_path: Path
) -> None:
    script = write(tmp_path / "show.py", SHOW)
    tasks = {name: script_task(script, name=name) for name in ("a", "b", "c", "plain", "greedy")}
    asks = {"a": 1, "b": 1, "c": 1, "greedy": 3}
    for name, count in asks.items():
        store.update_task(tasks[name].id, runtime={"resources": {"gpu": count}})
    enqueue(*tasks.values())
    done = agents.run("-q", "default", "--burst", "--services-mode", "3", "--gpus", "0,1", timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr

    greedy = record(store, tasks["greedy"])
    assert greedy.status == TaskStatus.failed
    assert "asks for 3 GPU(s)" in greedy.status_message and "has 2" in greedy.status_message
    seen = {name: _seen(store, tasks[name].id) for name in ("a", "b", "c", "plain")}
    assert all(record(store, tasks[n]).status == TaskStatus.completed for n in seen)
    assert {seen["a"][0], seen["b"][0]} == {"0", "1"}  # one device each, not the same one
    assert seen["c"][0] in ("0", "1")
    # both devices were busy when c was claimed (a third slot was free): it waited for one
    assert seen["c"][1] >= min(seen["a"][2], seen["b"][2])
    assert f"task {tasks['c'].id} waits for 1 GPU(s)" in done.stdout + done.stderr
    assert seen["plain"][0] == "0,1"  # a task asking for none sees all the agent's GPUs


def test_a_gpu_task_on_a_cpu_only_agent_fails_with_the_reason(
    agents: Agents, store: TaskStore, tmp_path: Path
) -> None:
    task = script_task(write(tmp_path / "show.py", SHOW))
    store.update_task(task.id, runtime={"resources": {"gpu": 1}})
    enqueue(task)
    done = agents.run("-q", "default", "--burst", "--cpu-only")
    assert done.returncode == 0, done.stdout + done.stderr
    failed = record(store, task)
    assert failed.status == TaskStatus.failed and "asks for 1 GPU(s)" in failed.status_message


def test_the_pool_hands_out_free_devices_in_order() -> None:
    pool = GpuPool.from_visible("3, 5,7")
    assert pool.total == 3
    assert pool.take("t1", 2) == ("3", "5")
    assert pool.take("t2", 2) is None  # one free: nothing taken
    assert pool.take("t2", 1) == ("7",)
    pool.give_back("t1")
    assert pool.free() == ["3", "5"]
    with pytest.raises(ValueError, match="this agent has 3"):
        pool.take("t3", 4)
    assert GpuPool.from_visible("").total == 0
