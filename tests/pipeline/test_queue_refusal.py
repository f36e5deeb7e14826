"""Bad launches are refused before anything is recorded: an unknown queue, an unclosed reference."""

from __future__ import annotations

import pytest

from taskmill import PipelineController, Task
from taskmill.core.states import TaskStatus
from taskmill.errors import QueueNotFoundError, SpecError
from taskmill.store.base import TaskFilter, TaskStore

from . import steps_lib as lib


def test_start_on_an_unknown_queue_records_nothing(store: TaskStore) -> None:
    pipe = PipelineController(name="p", project="refuse")
    pipe.add_function_step("a", lib.add, function_kwargs={"a": 1, "b": 2}, execution_queue="default")
    with pytest.raises(SpecError) as err:
        pipe.start(queue="no-such-queue")
    text = str(err.value)
    assert "queue 'no-such-queue'" in text and "no run was recorded" in text
    assert "`taskmill queues create no-such-queue`" in text
    assert "taskmill agent --queue no-such-queue" in text
    assert store.find_tasks(TaskFilter(project="refuse", include_subprojects=True)) == []
    assert "no-such-queue" not in {q.name for q in store.list_queues()}


def test_an_unclosed_step_parameter_reference_is_refused(store: TaskStore) -> None:
    pipe = PipelineController(name="p", project="refuse")
    pipe.add_function_step("a", lib.add, function_kwargs={"a": 1, "b": 2}, function_return=["total"])
    pipe.add_function_step("b", lib.add, function_kwargs={"a": "${a.total", "b": 2})
    with pytest.raises(SpecError, match=r"step 'b'.*bad reference '\$\{a.total': it is not closed"):
        pipe.start_locally(run_pipeline_steps_locally=True)
    assert store.find_tasks(TaskFilter(project="refuse", include_subprojects=True)) == []


def test_enqueueing_a_run_to_an_unknown_queue_changes_nothing(store: TaskStore) -> None:
    draft = Task.create(project_name="refuse", task_name="run")
    with pytest.raises(QueueNotFoundError, match="`taskmill queues create nope`"):
        PipelineController.enqueue(draft.id, queue_name="nope")
    assert store.get_task(draft.id).status == TaskStatus.created


def test_a_decorated_pipeline_for_an_unknown_queue_records_nothing(store: TaskStore) -> None:
    from taskmill import PipelineDecorator

    @PipelineDecorator.pipeline(name="dp", project="refuse-deco", pipeline_execution_queue="nowhere")
    def dp() -> None:
        return None

    try:
        with pytest.raises(SpecError, match="pipeline 'dp' cannot go to queue 'nowhere'"):
            dp()
    finally:
        PipelineDecorator.set_default_execution_queue(None)
    assert store.find_tasks(TaskFilter(project="refuse-deco", include_subprojects=True)) == []
