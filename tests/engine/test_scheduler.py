"""``PipelineRun`` (the scheduler) over an inline launcher and a real SQLite store; no API layer.

Steps are plain functions run by :class:`InlineLauncher` through the engine's own function I/O,
so these tests see what the scheduler decides (order, parallelism, failures) and nothing else.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from taskmill.core.pipeline import NodeStatus, StepSpec
from taskmill.core.states import TaskStatus, TaskTypes
from taskmill.engine.backend import Backend
from taskmill.engine.function_io import read_arguments, split_returns, store_outputs
from taskmill.engine.launchers import InlineLauncher
from taskmill.engine.nodes import Node, StepHooks
from taskmill.engine.scheduler import PipelineRun, RunOptions, RunResult
from taskmill.engine.steps import RunContext, StepBuilder

from .conftest import new_task


class Recorder:
    """Start and end times of every step call, and the most calls seen running at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.spans: dict[str, tuple[float, float]] = {}
        self.running = 0
        self.peak = 0

    def wrap(self, name: str, fn: Callable[..., Any], pause: float = 0.0) -> Callable[..., Any]:
        def step(*args: Any, **kwargs: Any) -> Any:
            with self.lock:
                self.running += 1
                self.peak = max(self.peak, self.running)
            start = time.monotonic()
            try:
                time.sleep(pause)
                return fn(*args, **kwargs)
            finally:
                with self.lock:
                    self.running -= 1
                    self.spans[name] = (start, time.monotonic())

        return step


def execute(backend: Backend) -> Callable[[str, Node], None]:
    """The inline launcher's step call: arguments in, outputs out, the task ended either way."""

    def run(task_id: str, node: Node) -> None:
        assert node.hooks.function is not None
        try:
            args, kwargs = read_arguments(backend, task_id)
            result = node.hooks.function(*args, **kwargs)
            outputs = split_returns(result, node.spec.function_return, node.name)
            store_outputs(backend, task_id, outputs, keep_in_memory=True, complete=True)
        except Exception as exc:  # the step failed: that is what the test looks at
            backend.store.set_status(task_id, TaskStatus.failed, message=str(exc), force=True)

    return run


def step(name: str, fn: Callable[..., Any], *, parents: tuple[str, ...] = (), **kwargs: Any) -> Node:
    spec = StepSpec(
        name=name,
        kind="function",
        parents=parents,
        function_kwargs=kwargs,
        function_return=("r",),
        function_source=name,
    )
    return Node(spec=spec, hooks=StepHooks(function=fn))


def run_nodes(backend: Backend, nodes: list[Node], *, max_parallel: int = 8) -> tuple[PipelineRun, RunResult]:
    run_id = new_task(backend.store, "run", task_type=TaskTypes.controller)
    ctx = RunContext(run_id=run_id, step_project="engine", params={}, with_payload=False)
    launcher = InlineLauncher(execute(backend), backend.store, max_workers=8)
    run = PipelineRun(
        backend,
        StepBuilder(backend, ctx),
        launcher,
        nodes,
        run_id=run_id,
        options=RunOptions(max_parallel=max_parallel),
    )
    return run, run.run()


def diamond(rec: Recorder, *, b_fails: bool = False) -> list[Node]:
    def b(x: int) -> int:
        if b_fails:
            raise ValueError("b broke")
        return x + 1

    return [
        step("a", rec.wrap("a", lambda: 1, pause=0.05)),
        step("b", rec.wrap("b", b, pause=0.05), parents=("a",), x="${a.r}"),
        step("c", rec.wrap("c", lambda x: x * 10, pause=0.05), parents=("a",), x="${a.r}"),
        step(
            "d",
            rec.wrap("d", lambda left, right: left + right),
            parents=("b", "c"),
            left="${b.r}",
            right="${c.r}",
        ),
    ]


def test_a_diamond_runs_in_dependency_order_and_hands_values_down(backend: Backend) -> None:
    rec = Recorder()
    run, result = run_nodes(backend, diamond(rec))
    assert result.status == TaskStatus.completed and result.failed_steps == ()
    spans = rec.spans
    assert spans["a"][1] <= min(spans["b"][0], spans["c"][0])  # children start after their parent
    assert max(spans["b"][1], spans["c"][1]) <= spans["d"][0]  # the join waits for both
    assert rec.peak == 2  # b and c overlap: nothing else holds them back
    d = run.nodes["d"]
    assert d.status == NodeStatus.completed and d.job_id is not None
    assert backend.store.get_param_dict(d.job_id)["return/r"] == (1 + 1) + 1 * 10
    stored = dict(backend.store.get_nodes(run.run_id))
    assert {name: data["status"] for name, data in stored.items()} == dict.fromkeys("abcd", "completed")


def test_max_parallel_caps_the_steps_running_at_once(backend: Backend) -> None:
    rec = Recorder()
    nodes = [step(f"s{i}", rec.wrap(f"s{i}", lambda: 0, pause=0.1)) for i in range(5)]
    run, result = run_nodes(backend, nodes, max_parallel=2)
    assert result.status == TaskStatus.completed
    assert rec.peak == 2
    assert all(n.status == NodeStatus.completed for n in run.nodes.values())


def test_a_failed_step_skips_its_descendants_and_fails_the_run(backend: Backend) -> None:
    rec = Recorder()
    run, result = run_nodes(backend, diamond(rec, b_fails=True))
    assert result.status == TaskStatus.failed and result.failed_steps == ("b",)
    status = {name: node.status for name, node in run.nodes.items()}
    assert status == {
        "a": NodeStatus.completed,
        "b": NodeStatus.failed,
        "c": NodeStatus.completed,  # a sibling is not a descendant: it still runs
        "d": NodeStatus.skipped,
    }
    assert "d" not in rec.spans  # never called
    assert run.nodes["d"].job_id is None  # and no task was created for it
    failed_task = run.nodes["b"].job_id
    assert failed_task is not None and backend.store.get_task(failed_task).status == TaskStatus.failed


def test_stop_from_a_callback_skips_what_did_not_start(backend: Backend) -> None:
    rec = Recorder()
    nodes = diamond(rec)
    run_holder: list[PipelineRun] = []

    def stop_after_a(pipeline: Any, node: Node) -> None:
        run_holder[0].stop(mark_aborted=True, reason="enough")

    nodes[0].hooks.post_execute_callback = stop_after_a
    run_id = new_task(backend.store, "run", task_type=TaskTypes.controller)
    run = PipelineRun(
        backend,
        StepBuilder(backend, RunContext(run_id=run_id, step_project="engine", params={}, with_payload=False)),
        InlineLauncher(execute(backend), backend.store),
        nodes,
        run_id=run_id,
    )
    run_holder.append(run)
    result = run.run()
    assert result == RunResult(TaskStatus.stopped, "enough", ())
    assert run.nodes["a"].status == NodeStatus.completed
    assert {run.nodes[n].status for n in "bcd"} == {NodeStatus.skipped}


@pytest.mark.parametrize("extra", [0, 3])
def test_an_open_run_takes_steps_until_sealed(backend: Backend, extra: int) -> None:
    run_id = new_task(backend.store, "run", task_type=TaskTypes.controller)
    run = PipelineRun(
        backend,
        StepBuilder(backend, RunContext(run_id=run_id, step_project="engine", params={}, with_payload=False)),
        InlineLauncher(execute(backend), backend.store),
        [],
        run_id=run_id,
        options=RunOptions(open_ended=True),
    )
    for i in range(extra):
        parents = (f"s{i - 1}",) if i else ()
        run.add(step(f"s{i}", lambda: 7, parents=parents))
    run.seal()
    result = run.run()
    assert result.status == TaskStatus.completed
    assert sorted(run.nodes) == [f"s{i}" for i in range(extra)]


def test_the_engine_loads_no_api_module() -> None:
    import subprocess
    import sys

    code = (
        "import sys, taskmill.engine.scheduler, taskmill.engine.launchers, taskmill.engine.drafts; "
        "print(sorted(m for m in sys.modules if m.startswith(('taskmill.api', 'taskmill.runs'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
