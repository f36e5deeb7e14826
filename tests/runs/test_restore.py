"""Resuming a stored run: finished steps whose tasks still succeeded are kept, the rest run again."""

from __future__ import annotations

from taskmill.core.pipeline import NodeStatus, StepSpec
from taskmill.core.states import TaskStatus
from taskmill.engine.nodes import Node
from taskmill.runs.restore import resumable_nodes
from taskmill.store.base import TaskStore
from tests.runs.stored import make_run, make_step


def _nodes() -> list[Node]:
    """load -> (left, right) -> join"""
    parents = {"load": (), "left": ("load",), "right": ("load",), "join": ("left", "right")}
    return [Node(StepSpec(name, "function", parents=p)) for name, p in parents.items()]


def test_completed_and_cached_steps_are_kept_with_their_records(store: TaskStore) -> None:
    run = make_run(store, status=TaskStatus.failed)
    load = make_step(store, run, "load", TaskStatus.completed)
    left = make_step(store, run, "left", TaskStatus.completed)
    right = make_step(store, run, "right", TaskStatus.failed)
    store.put_nodes(
        run.id,
        [
            ("load", {"status": "completed", "job_id": load.id, "attempts": ["old", load.id]}),
            ("left", {"status": "cached", "job_id": left.id, "cache": {"result": "hit"}}),
            ("right", {"status": "failed", "job_id": right.id}),
        ],
    )
    nodes = _nodes()
    assert resumable_nodes(store, run.id, nodes) == ["load", "left"]
    first, second, third, fourth = nodes
    assert (first.status, first.job_id, first.executed, first.attempts) == (
        NodeStatus.completed,
        load.id,
        load.id,
        ["old", load.id],
    )
    assert first.job is not None and first.job.is_completed() and not first.job.is_cached_task()
    assert first.job_started == store.get_task(load.id).started and "resume" in first.message
    assert second.status == NodeStatus.cached and second.cache == {"result": "hit"}
    assert second.job is not None and second.job.is_cached_task() and second.attempts == [left.id]
    assert third.status == fourth.status == NodeStatus.pending and third.job is None


def test_recomputed_steps_and_their_descendants_run_again(store: TaskStore) -> None:
    run = make_run(store, status=TaskStatus.stopped)
    steps = {n: make_step(store, run, n, TaskStatus.completed) for n in ("load", "left", "right", "join")}
    store.put_nodes(run.id, [(n, {"status": "completed", "job_id": t.id}) for n, t in steps.items()])
    assert resumable_nodes(store, run.id, _nodes(), recompute=["left"]) == ["load", "right"]
    assert resumable_nodes(store, run.id, _nodes(), recompute=True) == []
    assert resumable_nodes(store, run.id, _nodes()) == ["load", "left", "right", "join"]


def test_a_step_whose_task_is_gone_or_no_longer_completed_runs_again(store: TaskStore) -> None:
    run = make_run(store, status=TaskStatus.failed)
    reset = make_step(store, run, "left", TaskStatus.completed)
    store.set_status(reset.id, TaskStatus.created, force=True)  # reset after the run
    store.put_nodes(
        run.id,
        [
            ("load", {"status": "completed", "job_id": "deleted-task"}),
            ("left", {"status": "completed", "job_id": reset.id}),
            ("right", {"status": "completed"}),  # no task recorded
        ],
    )
    assert resumable_nodes(store, run.id, _nodes()) == []
