"""Choosing launchers as users do: per step, per run, by TASKMILL_LAUNCHER, and what a plugin
launcher inherits (the process launcher's semantics for crashes and aborts)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from taskmill import PipelineController, PipelineDecorator
from taskmill.api.pipeline.context import DECORATOR
from taskmill.core.pipeline import NodeStatus
from taskmill.errors import ExecutionError
from taskmill.store.base import TaskFilter, TaskStore

from . import steps
from .plugin_site import launched


@pytest.fixture
def decorator_reset() -> Iterator[None]:
    yield
    PipelineDecorator.run_locally()  # clears the launcher switch
    DECORATOR.reset()


def test_a_step_runs_on_its_own_launcher_the_others_on_the_run_s(store: TaskStore, plugin_site: Path) -> None:
    p = PipelineController(name="per-step", project="tests")
    p.add_function_step("one", steps.add, function_kwargs={"a": 1, "b": 2}, function_return="r")
    p.add_function_step(
        "two",
        steps.add,
        function_kwargs={"a": "${one.r}", "b": 10},
        function_return="r",
        launcher="thread@tcp://10.0.0.9:1",
    )
    p.start_locally(run_pipeline_steps_locally=True)
    dag = p.get_pipeline_dag()
    assert {n: d.status for n, d in dag.items()} == {"one": NodeStatus.completed, "two": NodeStatus.completed}
    assert launched(plugin_site) == [(dag["two"].executed, "tcp://10.0.0.9:1")]
    assert p.is_successful() and store.get_task(str(dag["two"].executed)).status.value == "completed"


def test_taskmill_launcher_picks_the_run_s_launcher(
    store: TaskStore, plugin_site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TASKMILL_LAUNCHER", "thread")
    p = PipelineController(name="by-env", project="tests")
    p.add_function_step("a", steps.add, function_kwargs={"a": 1, "b": 2}, function_return="r")
    p.add_function_step("b", steps.add, function_kwargs={"a": "${a.r}", "b": 3}, function_return="r")
    p.start_locally(run_pipeline_steps_locally=True)
    dag = p.get_pipeline_dag()
    assert [t for t, _ in launched(plugin_site)] == [dag["a"].executed, dag["b"].executed]
    result = store.get_task(str(dag["b"].executed))
    assert result.status.value == "completed"


def test_a_crash_and_an_abort_on_a_plugin_launcher(store: TaskStore, plugin_site: Path) -> None:
    p = PipelineController(name="crash", project="tests")
    p.add_function_step("crash", steps.crash, function_kwargs={"code": 3}, launcher="thread")
    p.add_function_step(
        "slow", steps.sleepy, function_kwargs={"seconds": 60}, launcher="thread", time_limit=1
    )
    p.start_locally(run_pipeline_steps_locally=True)
    dag = p.get_pipeline_dag()
    crashed = store.get_task(str(dag["crash"].attempts[-1]))
    assert crashed.status.value == "failed" and crashed.status_message == "step process exited with code 3"
    slow = store.get_task(str(dag["slow"].attempts[-1]))
    assert dag["slow"].status == NodeStatus.aborted and slow.status.value == "stopped"
    assert len(launched(plugin_site)) == 2


def test_unknown_launcher_names_the_known_ones(store: TaskStore, plugin_site: Path) -> None:
    p = PipelineController(name="unknown", project="tests")
    p.add_function_step("a", steps.add, function_kwargs={"a": 1, "b": 2}, launcher="nope")
    p.start_locally(run_pipeline_steps_locally=True)
    node = p.get_pipeline_dag()["a"]
    assert node.status == NodeStatus.failed
    assert node.executed is False
    failed = store.find_tasks(TaskFilter(project="tests"))
    assert any("unknown launcher 'nope'" in t.status_message for t in failed) or "nope" in node.message


def test_decorator_components_and_run_locally_pick_launchers(
    store: TaskStore, plugin_site: Path, decorator_reset: None
) -> None:
    PipelineDecorator.run_locally()
    assert steps.routed(1) == 6
    (only,) = launched(plugin_site)
    assert only[1] == "plugin-address"  # the component's own launcher
    assert store.get_task(only[0]).name.startswith("on_thread")

    plugin_site.write_text("")
    PipelineDecorator.run_locally(launcher="thread@run-address")
    assert steps.routed(2) == 8
    assert sorted(address for _, address in launched(plugin_site)) == ["plugin-address", "run-address"]


def test_a_malformed_spec_fails_where_the_step_is_defined(store: TaskStore) -> None:
    p = PipelineController(name="bad", project="tests")
    with pytest.raises(ExecutionError, match="NAME@ADDRESS"):
        p.add_function_step("a", steps.add, function_kwargs={"a": 1, "b": 2}, launcher="@x")
