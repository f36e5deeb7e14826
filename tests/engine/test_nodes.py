"""``Node`` (a step's live state, ClearML's field names) and its ``Job`` handle."""

from __future__ import annotations

import pytest

from taskmill.core.pipeline import NodeStatus, StepSpec
from taskmill.core.states import TaskStatus
from taskmill.engine.nodes import Job, Node
from taskmill.errors import InvalidTransitionError
from taskmill.store.base import TaskStore

from .conftest import new_task


def test_status_moves_follow_the_node_table() -> None:
    node = Node(spec=StepSpec(name="s", kind="function", queue="q", function_return=("r",)))
    assert node.set_status(NodeStatus.running) == NodeStatus.pending
    with pytest.raises(InvalidTransitionError):
        node.set_status(NodeStatus.pending)
    data = node.to_dict()
    assert data["name"] == "s" and data["status"] == "running" and data["queue"] == "q"
    assert data["return_artifacts"] == ["r"] and node.parents == [] and node.return_artifacts == ["r"]


def test_a_job_reads_its_task_status_from_the_store(engine_store: TaskStore) -> None:
    task_id = new_task(engine_store)
    job = Job(task_id, engine_store, lambda tid: f"task {tid}", cached=True)
    assert job.task_id() == task_id and job.task == f"task {task_id}" and job.is_cached_task()
    assert job.is_pending() and not job.is_running()
    engine_store.set_status(task_id, TaskStatus.in_progress)
    assert job.is_running()
    engine_store.set_status(task_id, TaskStatus.failed)
    assert job.is_failed() and not job.is_completed() and not job.is_aborted()
