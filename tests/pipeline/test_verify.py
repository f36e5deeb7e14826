"""Everything checkable is checked before any step runs, with errors that name the step and the fix."""

from __future__ import annotations

import pytest

from taskmill import PipelineController, Task
from taskmill.errors import SpecError
from taskmill.store.base import TaskFilter, TaskStore

from . import steps_lib as lib


def pipe() -> PipelineController:
    return PipelineController(name="p", project="verify")


def assert_nothing_ran(store: TaskStore) -> None:
    assert store.find_tasks(TaskFilter(project="verify", include_subprojects=True)) == []


def test_duplicate_and_reserved_names(store: TaskStore) -> None:
    p = pipe()
    p.add_function_step("a", lib.add, function_kwargs={"a": 1, "b": 2})
    with pytest.raises(SpecError, match="'a' is added twice"):
        p.add_function_step("a", lib.add, function_kwargs={"a": 1, "b": 2})
    with pytest.raises(ValueError, match="reserved"):  # SpecError is a ValueError, as in ClearML
        p.add_function_step("pipeline", lib.add, function_kwargs={"a": 1, "b": 2})
    with pytest.raises(SpecError, match=r"contains '\.'"):
        p.add_function_step("a.b", lib.add, function_kwargs={"a": 1, "b": 2})


def test_function_arguments_must_match_signature(store: TaskStore) -> None:
    p = pipe()
    with pytest.raises(SpecError, match=r"no argument\(s\) \['c'\]"):
        p.add_function_step("a", lib.add, function_kwargs={"a": 1, "b": 2, "c": 3})
    with pytest.raises(SpecError, match=r"needs argument\(s\) \['b'\]"):
        p.add_function_step("a", lib.add, function_kwargs={"a": 1})


def test_parameter_keys_need_a_section(store: TaskStore) -> None:
    base = Task.create(project_name="verify-base", task_name="base")
    p = pipe()
    with pytest.raises(SpecError, match="'General/lr'"):
        p.add_step("s", base_task_id=base.id, parameter_override={"lr": 0.1})


def test_unknown_references_and_parents_all_reported(store: TaskStore) -> None:
    p = pipe()
    p.add_parameter("n", 3)
    p.add_function_step(
        "a", lib.make_numbers, function_kwargs={"n": "${pipeline.missing}"}, function_return="v"
    )
    p.add_function_step("b", lib.total, function_kwargs={"values": "${nope.v}"}, function_return="t")
    p.add_function_step("c", lib.total, function_kwargs={"values": "${a.v}"}, parents=["ghost"])
    with pytest.raises(SpecError) as err:
        p.debug_pipeline()
    text = str(err.value)
    assert "3 problem(s)" in text or "problem(s)" in text
    assert "missing" in text and "nope" in text and "ghost" in text
    assert_nothing_ran(store)


def test_cycle_is_printed(store: TaskStore) -> None:
    p = pipe()
    p.add_function_step("a", lib.add, function_kwargs={"a": "${c.r}", "b": 1}, function_return="r")
    p.add_function_step("b", lib.add, function_kwargs={"a": "${a.r}", "b": 1}, function_return="r")
    p.add_function_step("c", lib.add, function_kwargs={"a": "${b.r}", "b": 1}, function_return="r")
    with pytest.raises(SpecError, match="a -> b -> c -> a"):
        p.debug_pipeline()
    assert_nothing_ran(store)


def test_missing_base_task(store: TaskStore) -> None:
    p = pipe()
    p.add_step("s", base_task_id="f" * 32)
    p.add_step("t", base_task_project="nowhere", base_task_name="nothing")
    with pytest.raises(SpecError) as err:
        p.start_locally(run_pipeline_steps_locally=True)
    assert "base task 'ffff" in str(err.value) and "no base task named 'nothing'" in str(err.value)
    assert_nothing_ran(store)


def test_return_reference_must_be_declared(store: TaskStore) -> None:
    p = pipe()
    p.add_function_step("a", lib.make_numbers, function_kwargs={"n": 2}, function_return="numbers")
    p.add_function_step("b", lib.total, function_kwargs={"values": "${a.nums}"})
    with pytest.raises(SpecError, match="nums"):
        p.debug_pipeline()


def test_queued_modes_check_queues_before_anything_runs(store: TaskStore) -> None:
    p = pipe()
    p.add_function_step("a", lib.add, function_kwargs={"a": 1, "b": 2})
    p.add_function_step("b", lib.add, function_kwargs={"a": 1, "b": 2}, execution_queue="gpu")
    with pytest.raises(SpecError) as err:
        p.start_locally()  # steps to queues: every step needs one, and it must exist
    assert "step 'a' has no execution queue" in str(err.value)
    assert "queue 'gpu', which does not exist" in str(err.value) and "taskmill queues create gpu" in str(
        err.value
    )
    assert store.find_tasks(TaskFilter(parent=p.id)) == []  # no step was created


def test_start_enqueues_the_controller_and_exits(store: TaskStore) -> None:
    p = pipe()
    p.set_default_execution_queue("default")
    p.add_function_step("a", lib.add, function_kwargs={"a": 1, "b": 2})
    with pytest.raises(SystemExit):
        p.start()
    run = store.get_task(p.id)
    assert run.status.value == "queued" and run.queue == "services"
    assert {q.name for q in store.list_queues()} >= {"services", "default"}
