"""Running a controller on a named launcher, and reading a step's output, for launcher tests."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from taskmill import PipelineController, Task
from taskmill.engine.nodes import Node
from taskmill.store.base import TaskStore


def run_on(p: PipelineController, launcher: str) -> None:
    """``p.start_locally(run_pipeline_steps_locally=True, launcher=launcher)``; where
    ``start_locally`` has no ``launcher`` argument yet, through ``TASKMILL_LAUNCHER`` (the same
    selection, read at the same place)."""
    if "launcher" in inspect.signature(PipelineController.start_locally).parameters:
        p.start_locally(run_pipeline_steps_locally=True, launcher=launcher)  # type: ignore[call-arg]
        return
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TASKMILL_LAUNCHER", launcher)
        p.start_locally(run_pipeline_steps_locally=True)


def output(store: TaskStore, node: Node, name: str = "r") -> Any:
    """The value a function step returned as ``name``."""
    task = Task.get_task(task_id=str(node.executed))
    return task.get_parameters().get(
        f"return/{name}", task.artifacts.get(name) and task.artifacts[name].get()
    )
