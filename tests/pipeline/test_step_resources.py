"""``resources=`` and ``docker=`` on steps: checked when the step is defined, recorded on its task."""

from __future__ import annotations

from typing import Any

import pytest

from taskmill import PipelineController, PipelineDecorator, Task
from taskmill.api.pipeline.step_main import backend_for
from taskmill.api.session import PROCESS
from taskmill.automation import PipelineController as AutomationController
from taskmill.core.resources import ResourceError
from taskmill.engine.steps import RunContext, StepBuilder
from taskmill.store.base import TaskStore

GI = 1024**3


def my_runtime() -> dict[str, Any]:
    task = Task.current_task()
    assert task is not None
    return dict(task.get_runtime_properties())


def test_a_function_steps_request_and_container_are_on_its_task(store: TaskStore) -> None:
    p = PipelineController(name="placed", project="tests")
    p.add_function_step(
        "train",
        my_runtime,
        function_return="runtime",
        resources={"cpu": 4, "memory": "16Gi", "gpu": 1},
        docker="python:3.12-slim",
        docker_args="-e A=1 --ipc=host",
        docker_bash_setup_script="apt-get update\napt-get install -y git",
    )
    p.add_function_step("plain", my_runtime, function_return="runtime")
    p.start_locally(run_pipeline_steps_locally=True)  # each step in its own process
    assert p.is_successful()
    dag = p.get_pipeline_dag()
    # the step's own process reads what its launcher or agent placed it by
    seen = Task.get_task(task_id=str(dag["train"].executed)).artifacts["runtime"].get()
    assert seen["resources"] == {"cpu": 4.0, "memory": 16 * GI, "gpu": 1}
    assert seen["docker"] == {
        "image": "python:3.12-slim",
        "arguments": ["-e A=1 --ipc=host"],
        "setup_script": ["apt-get update", "apt-get install -y git"],
    }
    plain = store.get_task(str(dag["plain"].executed)).runtime
    assert "resources" not in plain and "docker" not in plain


def test_a_task_step_records_its_request_and_keeps_its_base_tasks_container(store: TaskStore) -> None:
    base = Task.create(project_name="tests", task_name="base")
    base.set_base_docker(docker_image="nvcr.io/nvidia/pytorch:24.01", docker_arguments="--shm-size=8g")
    p = AutomationController(name="cloned", project="tests")  # the same class, ClearML's path
    p.add_step("fit", base_task_id=base.id, resources={"gpu": 2, "memory": 2**30}, execution_queue="gpu")
    spec = p._nodes["fit"].spec
    assert spec.resources == {"gpu": 2, "memory": GI} and spec.queue == "gpu"  # queue routing stays
    builder_runtime = _created_runtime(store, p, "fit")
    assert builder_runtime["resources"] == {"gpu": 2, "memory": GI}
    assert builder_runtime["docker"] == {
        "image": "nvcr.io/nvidia/pytorch:24.01",
        "arguments": ["--shm-size=8g"],
        "setup_script": [],
    }


def _created_runtime(store: TaskStore, p: PipelineController, step: str) -> dict[str, Any]:
    """The runtime of the task the run creates for ``step`` (created, not run: its queue has no agent)."""
    node = p._nodes[step]
    builder = StepBuilder(
        backend_for(PROCESS.session()), RunContext(run_id="", step_project="tests", params={})
    )
    return dict(store.get_task(builder.create(node, builder.resolve(node, {}))).runtime)


@pytest.mark.parametrize(
    ("resources", "message"),
    [
        ({"cpu": "lots"}, r"step 'bad': resources\['cpu'\]='lots'"),
        ({"gpus": 1}, r"step 'bad': resources: unknown key\(s\) gpus"),
        ({"memory": "16 GiB please"}, r"step 'bad': resources\['memory'\]"),
    ],
)
def test_a_bad_request_is_refused_when_the_step_is_added(resources: dict[str, Any], message: str) -> None:
    p = PipelineController(name="bad", project="tests")
    with pytest.raises(ResourceError, match=message):
        p.add_function_step("bad", my_runtime, resources=resources)
    with pytest.raises(ResourceError, match=message):
        p.add_step("bad", base_task_id="x", resources=resources)
    with pytest.raises(ResourceError, match=message):
        PipelineDecorator.component(name="bad", resources=resources)(my_runtime)


def test_a_component_carries_its_request_and_container() -> None:
    component = PipelineDecorator.component(
        return_values=["r"], resources={"cpu": "500m", "gpu": 1}, docker="img:1", docker_args="--rm"
    )(my_runtime)
    assert component.spec.resources == {"cpu": 0.5, "gpu": 1}
    assert component.spec.docker == {"image": "img:1", "arguments": ["--rm"], "setup_script": []}
