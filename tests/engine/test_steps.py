"""``StepBuilder``: a node's references resolved at launch, its task created, its cache key."""

from __future__ import annotations

from taskmill.core.pipeline import StepSpec
from taskmill.core.states import TaskStatus
from taskmill.core.stored import KWARGS, KWARGS_ARTIFACTS
from taskmill.engine.backend import Backend
from taskmill.engine.function_io import store_outputs
from taskmill.engine.inputs import ArtifactInput
from taskmill.engine.nodes import Node
from taskmill.engine.steps import RunContext, StepBuilder

from .conftest import new_task


def builder(backend: Backend, default_queue: str | None = None) -> StepBuilder:
    run_id = new_task(backend.store, "run")
    ctx = RunContext(
        run_id=run_id,
        step_project="engine",
        params={"q": "gpu"},
        default_queue=default_queue,
        with_payload=False,
    )
    return StepBuilder(backend, ctx)


def test_a_function_step_task_records_literals_and_inputs(backend: Backend) -> None:
    producer = new_task(backend.store, "producer")
    store_outputs(backend, producer, {"rows": [1, 2]})
    spec = StepSpec(
        name="use",
        kind="function",
        parents=("make",),
        queue="${pipeline.q}",
        function_kwargs={"rows": "${make.rows}", "scale": 2, "both": ["${make.rows}", 1]},
        function_return=("r",),
        function_source="def use(rows, scale, both): ...",
    )
    steps = builder(backend)
    resolved = steps.resolve(Node(spec=spec), {"make": producer})
    assert resolved.queue == "gpu"
    assert resolved.inputs == {"rows": ArtifactInput(producer, "rows")}
    assert resolved.kwargs["scale"] == 2 and resolved.kwargs["both"][1] == 1
    task_id = steps.create(Node(spec=spec), resolved, running=True)
    record = backend.store.get_task(task_id)
    assert record.status == TaskStatus.in_progress and record.runtime["pipeline_step"] == "use"
    sections = {(p.section, p.name) for p in backend.store.get_params(task_id)}
    assert sections == {(KWARGS, "scale"), (KWARGS, "both"), (KWARGS_ARTIFACTS, "rows")}


def test_the_default_queue_applies_when_a_step_names_none(backend: Backend) -> None:
    spec = StepSpec(name="s", kind="function", function_source="x")
    assert builder(backend, default_queue="cpu").resolve(Node(spec=spec), {}).queue == "cpu"
    assert builder(backend).resolve(Node(spec=spec), {}).queue is None


def test_the_cache_key_follows_input_content_not_the_producing_task(backend: Backend) -> None:
    spec = StepSpec(
        name="use",
        kind="function",
        function_kwargs={"rows": "${make.rows}"},
        function_source="f",
        cache=True,
    )
    keys = []
    for _ in range(2):  # two producers with equal outputs
        producer = new_task(backend.store, "producer")
        store_outputs(backend, producer, {"rows": [1, 2, 3]})
        steps = builder(backend)
        resolved = steps.resolve(Node(spec=spec), {"make": producer})
        keys.append(steps.key(Node(spec=spec), "", resolved).key)
    assert keys[0] == keys[1] and keys[0]


def test_a_step_that_does_not_cache_gets_no_key_and_records_none(backend: Backend) -> None:
    spec = StepSpec(
        name="use", kind="function", function_kwargs={"rows": "${make.rows}"}, function_source="f"
    )
    producer = new_task(backend.store, "producer")
    store_outputs(backend, producer, {"rows": [1, 2, 3]})
    steps = builder(backend)
    resolved = steps.resolve(Node(spec=spec), {"make": producer})
    key = steps.key(Node(spec=spec), "", resolved)
    assert key.key == "" and key.parts == {} and "caching is off" in key.reason
    record = backend.store.get_task(steps.create(Node(spec=spec), resolved, key))
    assert record.cache_key == "" and "pipeline_job_hash" not in record.runtime
