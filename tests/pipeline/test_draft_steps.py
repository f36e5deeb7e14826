"""Draft steps (ClearML's draft=True): the step's task waits as a draft until someone enqueues it,
maybe after editing its parameters. In queue mode an agent then runs it; in the local modes the
run takes it back and runs it itself. Either way the pipeline then carries on."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from taskmill import PipelineController
from taskmill.core.model import Param, TaskRecord, new_id
from taskmill.core.states import TaskStatus
from taskmill.errors import ConflictError, SpecError
from taskmill.runs.editing import set_draft_params
from taskmill.store.base import TaskStore

TASKMILL = str(Path(sys.executable).parent / "taskmill")

SCRIPT = """
from taskmill import PipelineController

def review(x):
    return x * 2

pipe = PipelineController(name="drafty", project="tests")
pipe.add_function_step("review", review, function_kwargs={"x": 21}, function_return="y", draft=True,
                       execution_queue="default")
pipe.start_locally()
print("DONE", pipe.id, pipe.is_successful())
"""


def _start_controller(
    code: str, tm_home: Path, tmp_path: Path, *args: str
) -> tuple[dict[str, str], subprocess.Popen[str]]:
    """Run a pipeline script in its own process on the test's store; returns its env and process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKMILL_")}
    env["TASKMILL_HOME"] = str(tm_home)
    script = tmp_path / "pipeline_script.py"
    script.write_text(textwrap.dedent(code))
    proc = subprocess.Popen(
        [sys.executable, str(script), *args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return env, proc


def _draft_job(store: TaskStore, step: str, proc: subprocess.Popen[str] | None = None) -> str:
    deadline = time.time() + 60
    while time.time() < deadline:
        for run in store.find_tasks():
            node = dict(store.get_nodes(run.id)).get(step)
            if node and node.get("job_id"):
                return str(node["job_id"])
        assert proc is None or proc.poll() is None, proc.communicate()[0] if proc else ""
        time.sleep(0.05)
    raise AssertionError(f"the draft step '{step}' never got a task")


def test_draft_step_waits_for_a_manual_enqueue(tm_home: Path, tmp_path: Path, store: TaskStore) -> None:
    store.create_queue("default")
    env, controller = _start_controller(SCRIPT, tm_home, tmp_path)
    try:
        job_id = _draft_job(store, "review", controller)
        time.sleep(0.5)
        assert store.get_task(job_id).status.value == "created"  # waits as a draft: nobody runs it
        enqueued = subprocess.run(
            [TASKMILL, "queues", "enqueue", job_id, "--queue", "default"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert enqueued.returncode == 0, enqueued.stderr
        agent = subprocess.run(
            [TASKMILL, "agent", "--queue", "default", "--burst"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert agent.returncode == 0, agent.stdout + agent.stderr
        out, _ = controller.communicate(timeout=60)
    finally:
        if controller.poll() is None:
            controller.kill()
    assert "True" in out.split("DONE")[-1], out
    assert store.get_param_dict(job_id)["return/y"] == 42


LOCAL_SCRIPT = """
import sys
from taskmill import PipelineController

def make(x):
    return x + 1

def review(x):
    return x * 2

pipe = PipelineController(name="local drafty", project="tests")
pipe.add_function_step("make", make, function_kwargs={"x": 20}, function_return="y")
pipe.add_function_step("review", review, function_kwargs={"x": "${make.y}"}, function_return="y", draft=True)
pipe.add_function_step("after", make, function_kwargs={"x": "${review.y}"}, function_return="y")
if sys.argv[1] == "debug":
    pipe.debug_pipeline()  # steps as calls in this process
else:
    pipe.start_locally(run_pipeline_steps_locally=True)
print("DONE", pipe.id, pipe.is_successful())
"""


@pytest.mark.parametrize("mode", ["process", "debug"])
def test_local_draft_step_is_edited_enqueued_and_run_by_the_run_itself(
    mode: str, tm_home: Path, tmp_path: Path, store: TaskStore
) -> None:
    env, controller = _start_controller(LOCAL_SCRIPT, tm_home, tmp_path, mode)
    try:
        job_id = _draft_job(store, "review", controller)
        time.sleep(0.3)
        assert store.get_task(job_id).status.value == "created"  # held: nothing runs it
        assert store.get_task(job_id).cache_key == ""  # an editable step is never a cache entry
        node = dict(store.get_nodes(store.get_task(job_id).parent or ""))["review"]
        assert (
            node["status"] == "queued" and node["message"] == f"draft: waits until task {job_id} is enqueued"
        )
        edit = subprocess.run(
            [TASKMILL, "tasks", "set-param", job_id, "kwargs/x=5"], env=env, capture_output=True, text=True
        )
        assert edit.returncode == 0 and "kwargs/x = 5" in edit.stdout, edit.stderr
        enqueued = subprocess.run(
            [TASKMILL, "queues", "enqueue", job_id], env=env, capture_output=True, text=True, timeout=60
        )
        assert enqueued.returncode == 0, enqueued.stderr  # the 'default' queue exists: the run made it
        out, _ = controller.communicate(timeout=60)
    finally:
        if controller.poll() is None:
            controller.kill()
    assert "True" in out.split("DONE")[-1], out
    assert "taskmill queues enqueue" in out  # the run said how to release the step
    assert store.get_param_dict(job_id)["return/y"] == 10  # the edited value, not make's 21
    assert store.get_task(job_id).worker.startswith("pipeline controller on ")
    after = _draft_job(store, "after")
    assert store.get_param_dict(after)["return/y"] == 11


def _review(x: int) -> int:
    return x * 3


def test_local_draft_taken_by_an_agent_first_is_followed_not_run_twice(
    tm_home: Path, store: TaskStore
) -> None:
    pipe = PipelineController(name="raced draft", project="tests")
    pipe.add_function_step("review", _review, function_kwargs={"x": 2}, function_return="y", draft=True)
    runner = threading.Thread(target=lambda: pipe.debug_pipeline(progress=False))
    runner.start()
    try:
        job_id = _draft_job(store, "review")
        store.create_queue("gpu")
        with store.batch():  # an agent serving 'gpu' claims it the moment it is enqueued
            store.enqueue(job_id, "gpu")
            claimed = store.claim(["gpu"], "agent-1")
        assert claimed is not None and claimed.id == job_id
        time.sleep(0.3)  # the run saw 'queued' then 'in_progress': its compare-and-set lost
        assert pipe.is_running()
        store.set_params(job_id, [Param("return", "y", 99, "int")])
        store.set_status(job_id, TaskStatus.completed, message="done by agent-1")
    finally:
        runner.join(timeout=60)
    assert not runner.is_alive() and pipe.is_successful()
    assert store.get_param_dict(job_id)["return/y"] == 99  # the agent's result: the function never ran here
    assert store.get_task(job_id).worker == "agent-1"


def test_set_param_edits_drafts_only_and_keeps_types(store: TaskStore) -> None:
    task = store.create_task(TaskRecord(id=new_id(), name="d", project="tests"))
    store.set_params(task.id, [Param("General", "epochs", 3, "int"), Param("General", "lr", 0.1, "float")])
    written = set_draft_params(store, task.id, {"General/epochs": "10", "General/layers": "[64, 64]"})
    assert {f"{p.section}/{p.name}": p.value for p in written} == {
        "General/epochs": 10,
        "General/layers": [64, 64],
    }
    with pytest.raises(SpecError, match="'General/lr' takes float values on this task; 'fast' is not one"):
        set_draft_params(store, task.id, {"General/lr": "fast", "General/epochs": "1"})
    assert store.get_param_dict(task.id)["General/epochs"] == 10  # all or nothing
    with pytest.raises(SpecError, match="no section"):
        set_draft_params(store, task.id, {"epochs": "1"})
    store.enqueue(task.id, store.create_queue("q").name)
    with pytest.raises(ConflictError, match="only draft tasks can be edited"):
        set_draft_params(store, task.id, {"General/epochs": "1"})


def test_a_drafts_time_limit_counts_from_its_release(tm_home: Path, store: TaskStore) -> None:
    pipe = PipelineController(name="slow review", project="tests")
    pipe.add_function_step(
        "review", _review, function_kwargs={"x": 1}, function_return="y", draft=True, time_limit=0.5
    )
    runner = threading.Thread(target=lambda: pipe.debug_pipeline(progress=False))
    runner.start()
    try:
        job_id = _draft_job(store, "review")
        time.sleep(1.0)  # a person takes longer than the step's limit to look at it
        assert store.get_task(job_id).status == TaskStatus.created
        store.enqueue(job_id, "default")
    finally:
        runner.join(timeout=60)
    assert pipe.is_successful()
    assert store.get_param_dict(job_id)["return/y"] == 3
    assert dict(store.get_nodes(pipe.id))["review"]["message"] == ""
