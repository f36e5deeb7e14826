"""A pipeline whose steps are clones of existing tasks (ClearML's pipeline_from_tasks.py).

The three step scripts are registered as base tasks on first use (ClearML asks you to run them
once by hand; this does it for you), then the pipeline clones them, overrides their parameters
with ``${...}`` references, and runs each clone as its own process.

    .venv/bin/python examples/pipeline_from_tasks/pipeline_from_tasks.py
"""

from __future__ import annotations

from pathlib import Path

from taskmill import PipelineController, Task
from taskmill.errors import TaskNotFoundError

HERE = Path(__file__).resolve().parent
BASE_TASKS = {
    "step1 dataset": "step1_dataset.py",
    "step2 process": "step2_process.py",
    "step3 train": "step3_train.py",
}


def ensure_base_tasks() -> None:
    """Register each step script as a draft base task (once)."""
    for name, script in BASE_TASKS.items():
        try:
            Task.get_task(project_name="examples/tasks", task_name=name)
        except TaskNotFoundError:
            Task.create(project_name="examples/tasks", task_name=name, script=str(HERE / script))


def build() -> PipelineController:
    pipe = PipelineController(name="pipeline from tasks", project="examples", version="1.0.0")
    pipe.add_parameter("C", 1.0, description="regularisation of the model")
    pipe.add_step(
        "stage_data",
        base_task_project="examples/tasks",
        base_task_name="step1 dataset",
        cache_executed_step=True,
    )
    pipe.add_step(
        "stage_process",
        base_task_project="examples/tasks",
        base_task_name="step2 process",
        parameter_override={"General/dataset_task_id": "${stage_data.id}", "General/test_size": 0.25},
    )
    pipe.add_step(
        "stage_train",
        base_task_project="examples/tasks",
        base_task_name="step3 train",
        parameter_override={"General/dataset_task_id": "${stage_process.id}", "General/C": "${pipeline.C}"},
        monitor_metrics=[("accuracy", "test")],
    )
    return pipe


if __name__ == "__main__":
    ensure_base_tasks()
    pipe = build()
    pipe.start_locally(run_pipeline_steps_locally=True)
    raise SystemExit(0 if pipe.is_successful() else 1)
