"""New run and resume of a run started locally (issue 15 item 1): every example's default mode
records no step queue, yet ``taskmill pipelines new-run RUN --queue services`` and ``resume
--queue services`` hand it to real agents, whose steps then adopt the ``default`` queue."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from taskmill.core.model import TaskRecord
from taskmill.core.states import TaskStatus
from taskmill.store.base import TaskFilter
from taskmill.store.http import HttpTaskStore

from .conftest import TASKMILL

ROOT = Path(__file__).resolve().parents[2]


def _runs(store: HttpTaskStore) -> list[TaskRecord]:
    return [r for r in store.find_tasks(TaskFilter(system_tags=("pipeline",))) if r.parent is None]


def _wait_final(store: HttpTaskStore, run_id: str, timeout: float = 120) -> TaskRecord:
    deadline = time.monotonic() + timeout
    while not (record := store.get_task(run_id)).status.is_final:
        assert time.monotonic() < deadline, f"run {run_id} did not end in time"
        time.sleep(0.3)
    return record


def _log(store: HttpTaskStore, task_id: str) -> str:
    return "\n".join(line.text for line in store.get_log(task_id))[-2000:]


def test_new_run_of_a_locally_started_run_works_on_agents(
    team: tuple[dict[str, str], HttpTaskStore],
) -> None:
    env, store = team
    local = subprocess.run(
        [sys.executable, "examples/pipeline_from_functions.py"],  # the default: local processes
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert local.returncode == 0, local.stdout + local.stderr
    (first,) = _runs(store)
    assert store.get_task(first.id).status == TaskStatus.completed
    started = subprocess.run(
        [TASKMILL, "pipelines", "new-run", first.id, "--queue", "services"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode == 0, started.stdout + started.stderr
    (second,) = [r for r in _runs(store) if r.id != first.id]
    final = _wait_final(store, second.id)
    assert final.status == TaskStatus.completed, f"{final.status_message}\n{_log(store, second.id)}"
    nodes = dict(store.get_nodes(second.id))
    assert {n["status"] for n in nodes.values()} <= {"completed", "cached"}
    ran = [n for n in nodes.values() if n["status"] == "completed"]
    assert ran  # the example caches some steps; the others ran again
    workers = {store.get_task(str(n["job_id"])).worker for n in ran}
    assert workers == {"agent-default"}  # the steps went to the default queue's agent


def test_resume_of_a_locally_started_failed_run_works_on_agents(
    team: tuple[dict[str, str], HttpTaskStore], tmp_path: Path
) -> None:
    env, store = team
    flag = tmp_path / "fail-once"
    flag.write_text("x")
    script = tmp_path / "flaky.py"
    script.write_text(
        f"""
from pathlib import Path
from taskmill import PipelineController

def first():
    return 1

def second(x):
    if Path({str(flag)!r}).exists():
        Path({str(flag)!r}).unlink()
        raise RuntimeError("failing once")
    return x + 1

pipe = PipelineController(name="flaky", project="e2e")
pipe.add_function_step("first", first, function_return=["x"])
pipe.add_function_step("second", second, function_kwargs={{"x": "${{first.x}}"}}, function_return=["y"])
pipe.start_locally(run_pipeline_steps_locally=True)
"""
    )
    local = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    (run,) = _runs(store)
    assert store.get_task(run.id).status == TaskStatus.failed, local.stdout + local.stderr
    resumed = subprocess.run(
        [TASKMILL, "pipelines", "resume", run.id, "--queue", "services"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    time.sleep(1)
    final = _wait_final(store, run.id)
    assert final.status == TaskStatus.completed, f"{final.status_message}\n{_log(store, run.id)}"
    nodes = dict(store.get_nodes(run.id))
    assert store.get_task(str(nodes["second"]["job_id"])).worker == "agent-default"
