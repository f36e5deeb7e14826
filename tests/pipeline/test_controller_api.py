"""The rest of the controller surface: models and references to them, get/clone/enqueue, progress."""

from __future__ import annotations

from typing import Any

from taskmill import PipelineController, Task
from taskmill.api.pipeline.progress import ProgressView
from taskmill.core.pipeline import NodeStatus
from taskmill.core.states import TaskStatus
from taskmill.engine.scheduler import RunResult
from taskmill.store.base import TaskStore

from . import steps_lib as lib


def build(tag: str = "w") -> PipelineController:
    p = PipelineController(name="models", project="tests", version="2.1")
    p.add_parameter("tag", tag)
    p.add_function_step(
        "train", lib.save_model, function_kwargs={"tag": "${pipeline.tag}"}, function_return="t"
    )
    p.add_function_step(
        "use",
        lib.read_file,
        function_kwargs={"path": "${train.models.output.-1.url}"},
        function_return="content",
    )
    return p


def test_model_references_and_upload_model(store: TaskStore) -> None:
    p = build()
    p.debug_pipeline()
    assert p.is_successful()
    use = Task.get_task(task_id=p.get_pipeline_dag()["use"].job_id)
    assert use.get_parameters()["return/content"] == "w" * 10
    run = Task.get_task(task_id=p.id)
    assert [m.name for m in run.models["output"]] == ["best-w"]


def test_get_clone_enqueue(store: TaskStore) -> None:
    first = build("a")
    first.debug_pipeline()
    got = PipelineController.get(pipeline_project="tests", pipeline_name="models")
    assert got.id == first.id and got.version == "2.1" and got.get_parameters()["tag"] == "a"
    assert PipelineController.get(pipeline_id=first.id).id == first.id
    clone = PipelineController.clone(first, version="2.2")
    draft = store.get_task(clone.id)
    assert draft.status == TaskStatus.created and draft.parent == first.id
    assert draft.runtime["version"] == "2.2"
    store.create_queue("services")
    PipelineController.enqueue(clone, queue_name="services")
    assert store.get_task(clone.id).status == TaskStatus.queued


def test_progress_view_counts_and_footer(store: TaskStore) -> None:
    lines: list[str] = []
    view = ProgressView("p", "r" * 32, enabled=False, log=lines.append)
    p = build()
    nodes = {n.name: n for n in p.get_pipeline_dag().values()}
    view.start(nodes)
    node: Any = nodes["train"]
    node.status = NodeStatus.running
    view.on_change(node)
    node.status = NodeStatus.completed
    view.on_change(node)
    text = view._render().plain
    assert "1/2 done" in text and "0 running" in text
    view.footer("r" * 32, RunResult(TaskStatus.completed, "completed"))
    assert any("taskmill pipelines show" in line for line in lines)
