"""New runs with edited parameters (ClearML's NEW RUN) from the CLI, for both pipeline APIs."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from taskmill.store.base import TaskFilter, TaskStore

TASKMILL = str(Path(sys.executable).parent / "taskmill")

DECORATED = """
from taskmill import PipelineDecorator

@PipelineDecorator.component(return_values=["total"])
def add(a: float, b: float) -> float:
    return a + b

@PipelineDecorator.pipeline(name="editable", project="newrun", return_value="total")
def main(a: float = 1.0, b: int = 2) -> float:
    total = add(a, b)
    print("TOTAL", float(total), type(b).__name__)
    return total

if __name__ == "__main__":
    PipelineDecorator.run_locally()
    main()
"""

CONTROLLER = """
from taskmill import PipelineController

def mul(x, k):
    return x * k

pipe = PipelineController(name="editable ctl", project="newrun")
pipe.add_parameter("k", 3)
pipe.add_function_step("mul", mul, function_kwargs={"x": 2, "k": "${pipeline.k}"}, function_return="r")
pipe.start_locally(run_pipeline_steps_locally=True)
"""


def env(home: Path) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith("TASKMILL_")}
    out["TASKMILL_HOME"] = str(home)
    return out


def test_new_run_of_a_decorated_pipeline_casts_by_annotation(
    tm_home: Path, tmp_path: Path, store: TaskStore
) -> None:
    script = tmp_path / "decorated.py"
    script.write_text(textwrap.dedent(DECORATED))
    first = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env(tm_home),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "TOTAL 3.0 int" in first.stdout, first.stdout + first.stderr
    (run,) = store.find_tasks(TaskFilter(project="newrun/.pipelines/editable", system_tags=("pipeline",)))
    second = subprocess.run(
        [TASKMILL, "pipelines", "new-run", run.id[:8], "--param", "a=10", "--param", "b=5"],
        env=env(tm_home),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert second.returncode == 0, second.stdout + second.stderr
    assert "TOTAL 15.0 int" in second.stdout  # "5" from the command line arrives as an int
    runs = store.find_tasks(TaskFilter(project="newrun/.pipelines/editable", system_tags=("pipeline",)))
    assert sorted(r.name for r in runs) == ["editable #1", "editable #2"]
    newest = next(r for r in runs if r.name == "editable #2")
    assert store.get_param_dict(newest.id)["Args/a"] == 10.0 and newest.status.value == "completed"


def test_new_run_of_a_controller_pipeline(tm_home: Path, tmp_path: Path, store: TaskStore) -> None:
    script = tmp_path / "controller.py"
    script.write_text(textwrap.dedent(CONTROLLER))
    subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env(tm_home),
        check=True,
        capture_output=True,
        timeout=120,
    )
    (run,) = store.find_tasks(TaskFilter(project="newrun/.pipelines/editable ctl", system_tags=("pipeline",)))
    proc = subprocess.run(
        [TASKMILL, "pipelines", "new-run", run.id, "--param", "k=7", "--mode", "debug"],
        env=env(tm_home),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    runs = {
        r.name: r
        for r in store.find_tasks(
            TaskFilter(project="newrun/.pipelines/editable ctl", system_tags=("pipeline",))
        )
    }
    nodes = dict(store.get_nodes(runs["editable ctl #2"].id))
    assert store.get_param_dict(str(nodes["mul"]["job_id"]))["return/r"] == 14
