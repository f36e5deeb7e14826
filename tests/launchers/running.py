"""Running a controller on a named launcher, and reading a step's output, for launcher tests."""

from __future__ import annotations

import time
from typing import Any

from taskmill import PipelineController, Task
from taskmill.core.pipeline import NodeStatus
from taskmill.engine.nodes import Node
from taskmill.store.base import TaskStore

from . import steps


def run_on(p: PipelineController, launcher: str) -> None:
    """Run ``p`` here with its steps on ``launcher`` (blocks until the run ends)."""
    p.start_locally(run_pipeline_steps_locally=True, launcher=launcher)


def cluster_trial(store: TaskStore, launcher: str) -> dict[str, Node]:
    """On ``launcher``: three parallel steps and a fan-in, a crashing step, a step killed by its
    time limit, and a step reporting its parent process (``where``). Asserts what every cluster
    launcher must get right and returns the DAG for the launcher's own checks."""
    p = PipelineController(name=f"on-{launcher}", project="tests")
    for i in range(3):
        p.add_function_step(f"part{i}", steps.add, function_kwargs={"a": i, "b": 10}, function_return="r")
    p.add_function_step(
        "fan_in",
        steps.add,
        function_kwargs={"a": "${part0.r}", "b": "${part2.r}"},
        function_return="r",
        parents=["part1"],
    )
    p.add_function_step("crash", steps.crash, function_kwargs={"code": 4})
    p.add_function_step("slow", steps.sleepy, function_kwargs={"seconds": 120}, time_limit=2)
    p.add_function_step("where", steps.parent_command, function_return="r")
    started = time.time()
    run_on(p, launcher)
    assert time.time() - started < 90  # the 120 s step was killed
    dag = p.get_pipeline_dag()
    status = {n: d.status for n, d in dag.items()}
    assert status == {
        "part0": NodeStatus.completed,
        "part1": NodeStatus.completed,
        "part2": NodeStatus.completed,
        "fan_in": NodeStatus.completed,
        "crash": NodeStatus.failed,
        "slow": NodeStatus.aborted,
        "where": NodeStatus.completed,
    }
    crashed = store.get_task(str(dag["crash"].attempts[-1]))
    assert crashed.status_message == "step process exited with code 4"
    assert store.get_task(str(dag["slow"].attempts[-1])).status.value == "stopped"
    assert output(store, dag["fan_in"]) == 10 + 12
    return dag


def output(store: TaskStore, node: Node, name: str = "r") -> Any:
    """The value a function step returned as ``name``."""
    task = Task.get_task(task_id=str(node.executed))
    return task.get_parameters().get(
        f"return/{name}", task.artifacts.get(name) and task.artifacts[name].get()
    )
