"""``debug_pipeline()`` runs every pipeline (issue 12 item 5): function steps as calls in this
process, task steps (``add_step``, cloned tasks) as processes of their own, as in process mode.
Real scripts in real processes."""

from __future__ import annotations

from pathlib import Path

from taskmill import Task
from taskmill.store.base import TaskFilter, TaskStore

from .test_processes import STEP_SCRIPT, run_pipeline, run_script, write


def test_debug_mode_runs_task_steps_as_processes(tm_home: Path, tmp_path: Path, store: TaskStore) -> None:
    write(tmp_path / "step1.py", STEP_SCRIPT.format(name="step1"))
    run_script(tmp_path / "step1.py", tm_home)
    controller = write(
        tmp_path / "pipe.py",
        """
        import os
        from taskmill import PipelineController

        def add_one(x):
            with open("plus.pid", "w") as f:
                f.write(str(os.getpid()))
            return x + 1

        pipe = PipelineController(name="debug with tasks", project="steps")
        pipe.add_step("stage1", base_task_project="steps", base_task_name="step1",
                      parameter_override={"General/value": 4})
        pipe.add_function_step("plus", add_one, function_kwargs={"x": 41},
                               function_return=["y"], parents=["stage1"])
        pipe.debug_pipeline()
        print("RUN", pipe.id, pipe.is_successful(), "CONTROLLER", os.getpid())
        """,
    )
    run_id = run_pipeline(controller, tm_home)
    steps = {t.name: t for t in store.find_tasks(TaskFilter(parent=run_id))}
    stage1 = Task.get_task(task_id=steps["stage1"].id)
    assert stage1.status == "completed"
    assert stage1.artifacts["result"].get() == {"value": 40}  # the cloned script ran with the override
    assert Task.get_task(task_id=steps["plus"].id).status == "completed"
    out = run_script(controller, tm_home).stdout
    # the function step stayed a call in the controller's process (debug mode)
    assert (tmp_path / "plus.pid").read_text() == out.split("CONTROLLER ")[-1].split()[0]
