"""Resume trusts the store's task records (issue 11 item 4): a controller killed (SIGKILL, whole
process group) right after a step's task completed, before the run loop's batched write of node
states, is resumed with ``taskmill pipelines resume`` and the completed step never runs again.

The second step waits for a file, so the kill lands while it runs; the test kills as soon as the
first step's task is completed in the store (polling every 5 ms), which in most trials is before
the node state saying so was written (the trials counted below check both cases)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from taskmill.core.model import TaskRecord
from taskmill.core.states import TaskStatus
from taskmill.store.base import TaskFilter, TaskStore
from taskmill.store.factory import open_store

TASKMILL = str(Path(sys.executable).parent / "taskmill")

CONTROLLER = """
import time
from pathlib import Path
from taskmill import PipelineController

WORK = Path(__file__).parent / "work"


def first():
    with open(WORK / "first.log", "a") as f:
        f.write("ran\\n")
    return 1


def second(x):
    while not (WORK / "go").exists():
        time.sleep(0.02)
    return x + 1


pipe = PipelineController(name="killed", project="e2e")
pipe.add_function_step("first", first, function_return=["x"], cache_executed_step=False)
pipe.add_function_step("second", second, function_kwargs={"x": "${first.x}"}, function_return=["y"])
pipe.start_locally(run_pipeline_steps_locally=True)
"""

DECORATED = """
import time
from pathlib import Path
from taskmill import PipelineDecorator

WORK = Path(__file__).parent / "work"


@PipelineDecorator.component(return_values=["x"], cache=False)
def first():
    with open(WORK / "first.log", "a") as f:
        f.write("ran\\n")
    return 1


@PipelineDecorator.component(return_values=["y"])
def second(x):
    while not (WORK / "go").exists():
        time.sleep(0.02)
    return x + 1


@PipelineDecorator.pipeline(name="killed deco", project="e2e", version="1.0")
def main():
    return second(first()) + 0


if __name__ == "__main__":
    PipelineDecorator.run_locally()
    main()
"""

SCRIPTS = {"controller": CONTROLLER, "decorator": DECORATED}


def _step_task(store: TaskStore, step: str) -> TaskRecord | None:
    for rec in store.find_tasks(TaskFilter()):
        if rec.runtime.get("pipeline_step") == step and rec.parent:
            return rec
    return None


@pytest.mark.parametrize("trial", range(2))
@pytest.mark.parametrize("style", sorted(SCRIPTS))
def test_a_step_completed_before_the_kill_is_not_run_again(tmp_path: Path, style: str, trial: int) -> None:
    home = tmp_path / "home"
    work = tmp_path / "work"
    work.mkdir()
    script = tmp_path / "pipe.py"
    script.write_text(textwrap.dedent(SCRIPTS[style]))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKMILL_")}
    env["TASKMILL_HOME"] = str(home)
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    while not (home / "store.db").exists():
        time.sleep(0.01)
    db = home / "store.db"
    store = open_store(f"sqlite:///{db}")
    try:
        deadline = time.monotonic() + 60
        while True:
            rec = _step_task(store, "first")
            if rec is not None and store.get_task(rec.id).status == TaskStatus.completed:
                os.killpg(proc.pid, signal.SIGKILL)
                break
            assert proc.poll() is None and time.monotonic() < deadline, "the first step never completed"
            time.sleep(0.005)
        proc.wait(timeout=10)
        run_id = str(rec.parent)
        node = dict(store.get_nodes(run_id)).get("first") or {}
        flushed = node.get("status") == "completed"
        print(f"{style} trial {trial}: node state flushed before the kill: {flushed}")
        (work / "go").write_text("")
        resumed = subprocess.run(
            [TASKMILL, "pipelines", "resume", run_id],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        assert store.get_task(run_id).status == TaskStatus.completed
        assert (work / "first.log").read_text() == "ran\n"  # written once: the step was kept
        assert dict(store.get_nodes(run_id))["first"]["job_id"] == rec.id
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        store.close()
