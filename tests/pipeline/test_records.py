"""What a run records on its controller task: the task, its parameters, version and DAG."""

from __future__ import annotations

from taskmill import PipelineController
from taskmill.api.pipeline.records import resume_requested
from taskmill.core.model import TaskRecord, new_id
from taskmill.core.stored import PIPELINE_CONFIG
from taskmill.store.base import TaskStore

from . import steps_lib as lib


def test_a_resume_mark_is_read_once(store: TaskStore) -> None:
    task_id = store.create_task(TaskRecord(id=new_id(), name="run", project="records")).id
    assert not resume_requested(store, task_id) and not resume_requested(store, "")
    store.update_task(task_id, runtime={"_resume": True})
    assert resume_requested(store, task_id)
    assert not resume_requested(store, task_id)  # cleared


def test_a_draft_run_records_its_definition(store: TaskStore) -> None:
    pipe = PipelineController(name="recorded", project="records", version="1.2.0")
    pipe.add_parameter("n", 3, description="how many")
    pipe.set_default_execution_queue("gpu")
    pipe.add_function_step(
        "make", lib.make_numbers, function_kwargs={"n": "${pipeline.n}"}, function_return="v"
    )
    pipe.create_draft()
    run = store.get_task(pipe.id)
    assert run.name == "recorded #1" and "pipeline" in run.system_tags
    assert run.project == "records/.pipelines/recorded"
    params = store.get_param_dict(run.id)
    assert params["Args/n"] == 3 and params["pipeline/default_queue"] == "gpu"
    assert params["properties/version"] == "1.2.0" and run.runtime["version"] == "1.2.0"
    (dag,) = [c for c in store.get_configs(run.id) if c.name == PIPELINE_CONFIG]
    assert '"make"' in dag.value
