"""PipelineDecorator: lazy values that do not block, parent inference, failures, modes, resume."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from taskmill import PipelineDecorator, Task
from taskmill.api.pipeline.context import DECORATOR
from taskmill.api.session import PROCESS
from taskmill.errors import StepFailedError
from taskmill.store.base import TaskFilter, TaskStore

from . import decorated_lib as lib


@pytest.fixture(params=["debug", "process"])
def mode(request: pytest.FixtureRequest, tm_home: Path) -> str:
    if request.param == "debug":
        PipelineDecorator.debug_pipeline()
    else:
        PipelineDecorator.run_locally()
    yield request.param
    DECORATOR.reset()


def last_run(store: TaskStore, name: str) -> Any:
    runs = store.find_tasks(TaskFilter(project=f"tests/.pipelines/{name}", system_tags=("pipeline",)))
    return runs[0]


def nodes(store: TaskStore, run_id: str) -> dict[str, dict[str, Any]]:
    return dict(store.get_nodes(run_id))


def test_values_flow_and_tuples_unpack(mode: str, store: TaskStore) -> None:
    assert lib.simple(6) == 15
    run = last_run(store, "decorated")
    assert run.status.value == "completed"
    steps = nodes(store, run.id)
    assert set(steps) == {"load", "halves", "total", "total_1"}  # calling twice: name, name_1
    assert set(steps["total"]["parents"]) == {"halves"}
    run_task = Task.get_task(task_id=run.id)
    assert run_task.get_parameters()["Args/n"] == 6
    assert run_task.artifacts["result"].get() == 15  # return_value stored on the pipeline task


def test_second_run_hits_the_cache(mode: str, store: TaskStore) -> None:
    lib.simple(6)
    lib.simple(6)
    steps = nodes(store, last_run(store, "decorated").id)
    assert steps["load"]["status"] == "cached" and steps["load"]["cache"]["result"] == "hit"


def test_conditionals_and_lazy_values_in_containers(mode: str, store: TaskStore) -> None:
    out = lib.conditional(5)
    assert out == {"parts": [10, [0, 1]], "extra": {"first": [0, 1, 2, 3, 4]}}
    steps = nodes(store, last_run(store, "conditional").id)
    assert "check" in steps["merge"]["parents"]  # evaluated before the call
    assert {"total", "load_1", "load"} <= set(steps["merge"]["parents"])
    assert lib.conditional(1) is None  # early return: check(0) is False


def test_chains_run_concurrently_without_blocking(mode: str, store: TaskStore) -> None:
    results = lib.chains(4)
    firsts = [r["x"] for r in results]  # the second link returns the first link's dict as "x"
    assert [f["x"] for f in firsts] == [0, 1, 2, 3]
    # every first link was running at the same moment: the pipeline function did not wait for
    # chain 0 to finish before launching chain 1 (ClearML's blocking semantics would)
    assert max(f["start"] for f in firsts) < min(f["end"] for f in firsts)


def test_failed_step_raises_at_the_end_and_skips_children(mode: str, store: TaskStore) -> None:
    with pytest.raises(StepFailedError, match=r"'explode' \(task [0-9a-f]{32}\) failed"):
        lib.failing()
    run = last_run(store, "failing")
    steps = nodes(store, run.id)
    assert steps["explode"]["status"] == "failed"
    assert steps["total_1"]["status"] == "skipped"
    assert steps["tolerated"]["status"] == "failed"  # continue_on_fail: does not raise
    assert steps["total"]["status"] == "completed"
    assert run.status.value == "failed"


def test_using_a_failed_value_raises_there(mode: str, store: TaskStore) -> None:
    with pytest.raises(StepFailedError, match="explode"):
        lib.uses_failed_value()


def test_user_decorated_component_and_nested_components(mode: str, store: TaskStore) -> None:
    assert lib.nested_components(3) == 7
    steps = nodes(store, last_run(store, "nested").id)
    assert steps["outer_step_doubled"]["parents"] == ["outer_step"]
    assert steps["outer_step_doubled"]["status"] == "completed"
    task = Task.get_task(task_id=steps["outer_step_doubled"]["job_id"])
    assert "calling doubled" in task.get_reported_console_output()


def test_component_outside_a_pipeline_is_a_plain_call(tm_home: Path) -> None:
    assert lib.doubled(4) == 8


def test_remote_default_enqueues_the_run_and_exits(
    tm_home: Path, store: TaskStore, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as ended:
        lib.simple(2)  # default mode: the controller goes to the services queue (ClearML)
    assert ended.value.code == 0
    run = last_run(store, "decorated")
    assert run.status.value == "queued" and run.queue == "services"
    assert Task.get_task(task_id=run.id).get_parameters()["Args/n"] == 2
    err = capsys.readouterr().err
    assert "no agent serves queue 'services'" in err and "taskmill agent --queue services" in err


def test_resume_keeps_completed_components(tm_home: Path, tmp_path: Path, store: TaskStore) -> None:
    marker = str(tmp_path / "marker")
    PipelineDecorator.debug_pipeline()
    try:
        with pytest.raises(StepFailedError):
            lib.resumable(marker)
        run = last_run(store, "resumable decorated")
        first = nodes(store, run.id)
        Path(marker).touch()
        import os

        os.environ["TASKMILL_TASK_ID"] = run.id
        os.environ["TASKMILL_RESUME"] = "1"
        PROCESS.reset()
        try:
            assert lib.resumable(marker) == 2 + 3
        finally:
            del os.environ["TASKMILL_TASK_ID"], os.environ["TASKMILL_RESUME"]
            PROCESS.reset()
    finally:
        DECORATOR.reset()
    store = PROCESS.session().store  # the session was reset: use the fresh one
    again = nodes(store, run.id)
    assert again["load"]["job_id"] == first["load"]["job_id"]  # kept
    assert again["total"]["job_id"] == first["total"]["job_id"]
    assert again["flaky"]["status"] == "completed" and store.get_task(run.id).status.value == "completed"


def test_pipeline_called_from_a_pipeline_is_a_nested_run(tm_home: Path, store: TaskStore) -> None:
    PipelineDecorator.debug_pipeline()
    try:
        assert lib.outer_pipeline(4) == 8 + 6
    finally:
        DECORATOR.reset()
    outer = last_run(store, "outer run")
    inner = last_run(store, "inner run")
    assert inner.parent == outer.id and inner.id != outer.id
    assert inner.status.value == "completed" and outer.status.value == "completed"
    assert set(nodes(store, inner.id)) == {"load", "total"}
