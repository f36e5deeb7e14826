"""Caching with reasons: hits reuse completed tasks, misses say which part changed, recompute forces."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from taskmill import PipelineController, Task
from taskmill.store.base import TaskStore

from . import steps_lib as lib


def build(n: int = 5, factor: int = 2, helper: Any = None) -> PipelineController:
    p = PipelineController(name="cached", project="tests")
    p.add_parameter("n", n)
    p.add_function_step(
        "numbers",
        lib.make_numbers,
        function_kwargs={"n": "${pipeline.n}"},
        function_return="v",
        cache_executed_step=True,
    )
    p.add_function_step(
        "scaled",
        lib.scale,
        function_kwargs={"values": "${numbers.v}", "factor": factor},
        function_return="v",
        cache_executed_step=True,
    )
    p.add_function_step("plain", lib.add, function_kwargs={"a": 1, "b": 2})  # caching off
    return p


def cache(p: PipelineController, step: str) -> dict[str, Any]:
    return dict(p.get_pipeline_dag()[step].cache)


def test_second_run_hits_and_says_so(store: TaskStore) -> None:
    first = build()
    first.debug_pipeline()
    second = build()
    second.debug_pipeline()
    dag1, dag2 = first.get_pipeline_dag(), second.get_pipeline_dag()
    assert dag2["numbers"].status.value == "cached" and dag2["scaled"].status.value == "cached"
    assert dag2["scaled"].job_id == dag1["scaled"].job_id  # the earlier task is reused
    assert cache(second, "scaled")["result"] == "hit"
    assert cache(second, "scaled")["source_task"] == dag1["scaled"].job_id
    assert cache(second, "plain")["result"] == "disabled"
    assert dag2["plain"].status.value == "completed"
    assert second.is_successful()  # cached steps count as success (ClearML #1501)
    stored = dict(store.get_nodes(second.id))
    assert stored["scaled"]["cache"]["result"] == "hit"


def test_miss_names_changed_parameter(store: TaskStore) -> None:
    build(n=5).debug_pipeline()
    changed = build(n=7)
    changed.debug_pipeline()
    numbers = cache(changed, "numbers")
    assert numbers["result"] == "miss" and numbers["changed"] == ["params"]
    assert "kwargs/n: 5 -> 7" in numbers["details"]
    scaled = cache(changed, "scaled")
    assert scaled["result"] == "miss" and scaled["changed"] == ["inputs"]  # same params, new data


def test_changed_literal_only_busts_downstream(store: TaskStore) -> None:
    build(factor=2).debug_pipeline()
    changed = build(factor=3)
    changed.debug_pipeline()
    assert changed.get_pipeline_dag()["numbers"].status.value == "cached"
    assert cache(changed, "scaled")["changed"] == ["params"]


def test_code_change_busts_the_cache(store: TaskStore) -> None:
    p1 = PipelineController(name="code", project="tests")
    p1.add_function_step("s", lib.uses_helper, function_kwargs={"x": 1}, cache_executed_step=True)
    p1.debug_pipeline()
    p2 = PipelineController(name="code", project="tests")
    p2.add_function_step("s", lib.uses_helper, function_kwargs={"x": 1}, cache_executed_step=True)
    p2.debug_pipeline()
    assert cache(p2, "s")["result"] == "hit"
    # the helper it calls is part of the code: a different local callee means a different key
    source = p2.get_pipeline_dag()["s"].spec.function_source
    assert "def helper_double" in source and "def uses_helper" in source

    def uses_helper(x: int) -> int:  # same name, different body
        return x * 3

    p3 = PipelineController(name="code", project="tests")
    p3.add_function_step("s", uses_helper, function_kwargs={"x": 1}, cache_executed_step=True)
    p3.debug_pipeline()
    assert cache(p3, "s")["result"] == "miss" and cache(p3, "s")["changed"] == ["code"]


def test_recompute_forces_a_run(store: TaskStore) -> None:
    build().debug_pipeline()
    forced = build()
    forced.debug_pipeline(recompute=["scaled"])
    dag = forced.get_pipeline_dag()
    assert dag["numbers"].status.value == "cached"
    assert dag["scaled"].status.value == "completed" and cache(forced, "scaled")["result"] == "forced"
    everything = build()
    everything.debug_pipeline(recompute=True)
    assert all(n.status.value == "completed" for n in everything.get_pipeline_dag().values())


def test_deleted_outputs_are_not_reused(store: TaskStore) -> None:
    first = build()
    first.debug_pipeline()
    scaled_task = Task.get_task(task_id=first.get_pipeline_dag()["scaled"].job_id)
    Path(scaled_task.artifacts["v"].url).unlink()  # the bytes are gone
    second = build()
    second.debug_pipeline()
    assert second.get_pipeline_dag()["scaled"].status.value == "completed"
    assert "outputs are gone" in str(cache(second, "scaled")["reason"])
