"""Finding stored runs: numbering, versions, lookup by id or by pipeline, and ending dead steps."""

from __future__ import annotations

import pytest

from taskmill.core.model import TaskRecord, new_id, pipelines_project
from taskmill.core.states import TaskStatus
from taskmill.errors import TaskNotFoundError
from taskmill.runs.records import (
    all_runs,
    find_run,
    get_run,
    interrupt_unfinished,
    next_run_number,
    next_version,
    runs_of,
)
from taskmill.store.base import TaskStore
from tests.runs.stored import make_run, make_step


def test_runs_are_numbered_after_the_highest_run_of_that_name(store: TaskStore) -> None:
    hidden = pipelines_project("tests", "etl")
    assert next_run_number(store, hidden, "etl") == 1
    make_run(store, "etl", number=1)
    make_run(store, "etl", number=7)
    make_run(store, "etl other", project="tests", number=30)  # another pipeline's project
    assert next_run_number(store, hidden, "etl") == 8
    assert [r.name for r in runs_of(store, hidden)] == ["etl #7", "etl #1"]
    assert {r.name for r in all_runs(store)} == {"etl #1", "etl #7", "etl other #30"}


def test_a_version_is_bumped_only_when_the_definition_changed(store: TaskStore) -> None:
    hidden = pipelines_project("tests", "etl")
    first = make_run(store, "etl")
    assert next_version(store, hidden, first.id, "abc") == "1.0.0"  # no other run yet
    store.update_task(first.id, runtime={"version": "1.0.0", "_pipeline_hash": "abc:params"})
    second = make_run(store, "etl", number=2)
    assert next_version(store, hidden, second.id, "abc") == "1.0.0"
    assert next_version(store, hidden, second.id, "changed") == "1.0.1"
    store.update_task(second.id, runtime={"version": "not-a-version"})  # ignored, not compared
    assert next_version(store, hidden, new_id(), "abc") == "1.0.0"


def test_find_run_takes_the_highest_version_then_the_newest(store: TaskStore) -> None:
    old = make_run(store, "etl", runtime={"version": "1.2.0"}, tags=("nightly",))
    make_run(store, "etl", number=2, runtime={"version": "1.10.0"})
    newest = make_run(store, "etl", number=3, runtime={"version": "1.10.0"})
    assert find_run(store, project="tests", name="etl").id == newest.id
    assert find_run(store, project="tests", name="etl", version="1.2.0").id == old.id
    assert find_run(store, project="tests", name="etl", tags=["nightly"]).id == old.id
    assert find_run(store, old.id).id == old.id
    with pytest.raises(TaskNotFoundError, match="no run of pipeline 'etl' in project 'elsewhere'"):
        find_run(store, project="elsewhere", name="etl")
    with pytest.raises(ValueError, match="not both"):
        find_run(store, old.id, project="tests", name="etl")
    with pytest.raises(ValueError, match="give pipeline_id, or"):
        find_run(store, name="etl")


def test_get_run_names_the_run_of_a_step_and_refuses_other_tasks(store: TaskStore) -> None:
    run = make_run(store, "etl")
    step = make_step(store, run, "load", TaskStatus.completed)
    assert get_run(store, run.id).id == run.id
    with pytest.raises(ValueError, match=f"is step 'load' of pipeline run {run.id} .*give the run's id"):
        get_run(store, step.id)
    plain = store.create_task(TaskRecord(id=new_id(), name="script", project="tests"))
    with pytest.raises(ValueError, match="is not a pipeline run; list runs with"):
        get_run(store, plain.id)


def test_interrupt_unfinished_stops_only_unfinished_steps_not_kept(store: TaskStore) -> None:
    run = make_run(store, "etl", status=TaskStatus.in_progress)
    done = make_step(store, run, "done", TaskStatus.completed)
    running = make_step(store, run, "running", TaskStatus.in_progress)
    queued = make_step(store, run, "queued", TaskStatus.queued)
    kept = make_step(store, run, "kept", TaskStatus.in_progress)
    stopped = interrupt_unfinished(store, run.id, keep={kept.id})
    assert sorted(stopped) == sorted([running.id, queued.id])
    assert store.get_task(running.id).status == TaskStatus.stopped
    assert "runs again on resume" in store.get_task(queued.id).status_message
    assert store.get_task(done.id).status == TaskStatus.completed
    assert store.get_task(kept.id).status == TaskStatus.in_progress
    assert interrupt_unfinished(store, run.id, keep={kept.id}) == []  # idempotent
