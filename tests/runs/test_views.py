"""The read model of stored runs: nodes from the stored DAG and live states, step and run views."""

from __future__ import annotations

from taskmill.core.model import ConfigObject, TaskRecord, new_id
from taskmill.core.states import TaskStatus
from taskmill.core.stored import PIPELINE_CONFIG
from taskmill.runs.views import (
    NodeData,
    load_nodes,
    pipeline_of,
    run_summary,
    step_attempts,
    step_tasks,
    step_view,
    task_ref,
)
from taskmill.store.base import TaskStore
from tests.runs.stored import make_run, make_step

DIAMOND: dict[str, NodeData] = {
    "join": {"name": "join", "parents": ["left", "right"], "status": "pending"},
    "right": {"name": "right", "parents": ["load"], "status": "pending"},
    "left": {"name": "left", "parents": ["load"], "status": "pending"},
    "load": {"name": "load", "parents": [], "status": "pending", "stage": "prep"},
}


def test_live_states_overlay_the_stored_definition_in_topological_order(store: TaskStore) -> None:
    run = make_run(
        store,
        definition=DIAMOND,
        nodes={"load": {"status": "completed", "job_id": "t1"}, "extra": {"status": "running"}},
    )
    nodes = load_nodes(store, run)
    names = [n for n, _ in nodes]
    assert names.index("load") < names.index("left") < names.index("join")
    assert names.index("right") < names.index("join") and set(names) == {*DIAMOND, "extra"}
    load = dict(nodes)["load"]
    assert load["status"] == "completed" and load["job_id"] == "t1" and load["stage"] == "prep"
    assert dict(nodes)["join"]["status"] == "pending"  # not started: from the definition


def test_a_damaged_dag_is_shown_in_stored_order(store: TaskStore) -> None:
    looped: dict[str, NodeData] = {"a": {"parents": ["b"]}, "b": {"parents": ["a"]}}
    run = make_run(store, definition=looped)
    assert [n for n, _ in load_nodes(store, run)] == ["a", "b"]
    broken = make_run(store, number=2)
    store.set_config(broken.id, ConfigObject(PIPELINE_CONFIG, "{not json", "dictionary", ""))
    assert load_nodes(store, broken) == []


def test_step_view_measures_what_ran_in_this_run() -> None:
    ran = step_view("a", {"status": "completed", "job_started": 10.0, "job_ended": 25.0, "job_id": "t"}, 99.0)
    assert (ran.duration, ran.task_id, ran.cache) == (15.0, "t", "")
    running = step_view("b", {"status": "running", "job_started": 90.0}, 100.0)
    assert running.duration == 10.0
    cached = step_view(
        "c", {"status": "cached", "job_started": 1.0, "job_ended": 2.0, "cache": {"result": "hit"}}, 5.0
    )
    assert cached.duration is None and cached.cache == "hit"  # nothing ran in this run
    empty = step_view("d", {}, 5.0)
    assert (empty.status, empty.task_id, empty.attempts, empty.stage) == ("pending", None, (), None)


def test_run_summary_counts_done_steps_and_hides_routine_messages(store: TaskStore) -> None:
    run = make_run(store, status=TaskStatus.failed, runtime={"version": "1.0.2"}, tags=("nightly",))
    store.set_status(run.id, TaskStatus.failed, message="step 'square' failed", force=True)
    run = store.get_task(run.id)
    nodes: list[tuple[str, NodeData]] = [
        (n, {"status": s}) for n, s in (("a", "completed"), ("b", "cached"), ("c", "failed"))
    ]
    summary = run_summary(run, nodes, now=None)
    assert (summary.done, summary.total, summary.pipeline, summary.project) == (2, 3, "etl", "tests")
    assert summary.message == "step 'square' failed" and summary.version == "1.0.2"
    assert summary.to_dict()["status"] == "failed" and summary.tags == ("nightly",)
    assert summary.duration is not None and summary.duration >= 0
    draft = make_run(store, number=2, status=TaskStatus.created)
    assert run_summary(draft, [], now=None).duration is None


def test_pipeline_of_reads_the_hidden_project_or_the_run_name() -> None:
    hidden = TaskRecord(id="1", name="etl #3", project="team/a/.pipelines/etl")
    assert pipeline_of(hidden) == ("team/a", "etl")
    plain = TaskRecord(id="2", name="old style #12", project="team")
    assert pipeline_of(plain) == ("team", "old style")


def test_task_ref_points_at_a_task_its_run_or_says_it_is_gone(store: TaskStore) -> None:
    run = make_run(store)
    step = make_step(store, run, "load", TaskStatus.completed)
    assert task_ref(store, step.id) == {
        "id": step.id,
        "name": "load",
        "status": "completed",
        "run_id": run.id,
        "run_name": "etl #1",
    }
    assert task_ref(store, (gone := new_id())) == {"id": gone, "name": "", "deleted": True}


def _task(
    name: str | None,
    created: float,
    status: TaskStatus = TaskStatus.completed,
    *,
    started: float | None = None,
    completed: float | None = None,
    reason: str = "",
    message: str = "",
) -> TaskRecord:
    """A child task of a run that ran step ``name`` (None: a child without the step property)."""
    return TaskRecord(
        id=new_id(),
        name=name or "x",
        project="p",
        status=status,
        status_reason=reason,
        status_message=message,
        created=created,
        started=started,
        completed=completed,
        runtime={"pipeline_step": name} if name else {},
    )


def test_step_tasks_groups_a_runs_children_by_step_oldest_first() -> None:
    second, first = _task("load", 20.0), _task("load", 10.0)
    other, loose = _task("train", 15.0), _task(None, 1.0)
    by_step = step_tasks([second, other, loose, first])
    assert by_step == {"load": [first, second], "train": [other]}  # no step property: left out


def test_step_attempts_number_every_task_and_time_wait_and_run_apart() -> None:
    failed = _task(
        "load",
        10.0,
        TaskStatus.failed,
        started=12.0,
        completed=13.0,
        reason="boom",
        message="failed",
    )
    current = _task("load", 20.0, started=26.0, completed=26.7, message="completed")
    earlier = _task(None, 5.0, TaskStatus.stopped, started=5.5, completed=6.0)  # only the node names it
    gone = new_id()
    view = step_view(
        "load", {"status": "completed", "job_id": current.id, "attempts": [earlier.id, gone]}, 30.0
    )
    attempts = step_attempts(view, [failed, current], {earlier.id: earlier})
    assert [(a.number, a.task_id, a.current) for a in attempts] == [
        (1, earlier.id, False),
        (2, failed.id, False),
        (3, current.id, True),
    ]  # the deleted task is left out
    last = attempts[2]
    assert (last.wait, round(last.ran or 0, 6), last.message) == (6.0, 0.7, "")  # a routine message is hidden
    assert attempts[1].message == "boom" and (attempts[1].wait, attempts[1].ran) == (2.0, 1.0)
    waiting = step_attempts(view, [_task("load", 40.0, TaskStatus.queued)], {})
    assert (waiting[0].wait, waiting[0].ran, waiting[0].current) == (None, None, False)
    cached = step_view("load", {"status": "cached"}, 30.0)
    assert step_attempts(cached, [], {earlier.id: earlier}) == []
