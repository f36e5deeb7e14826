"""A pipeline in remote mode: its controller on a services-mode agent, its steps on another agent."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from taskmill import Task
from taskmill.core.states import TaskStatus
from taskmill.store.base import TaskFilter, TaskStore
from tests.agent.conftest import Agents, log_text, record, wait_for, write

PIPELINE = """
from taskmill import PipelineController

def make(n: int) -> list:
    print("making", n)
    return list(range(n))

def total(values: list) -> int:
    return sum(values)

pipe = PipelineController(name="remote", project="agent-tests", version="1.0")
pipe.add_parameter("n", 4)
pipe.set_default_execution_queue("default")
pipe.add_function_step("make", make, function_kwargs={"n": "${pipeline.n}"}, function_return=["values"])
pipe.add_function_step("total", total, function_kwargs={"values": "${make.values}"}, function_return="result")
pipe.start(queue="services")
print("not reached: start() exits this process")
"""


def test_remote_pipeline_runs_on_agents(tmp_path: Path, agents: Agents, store: TaskStore) -> None:
    store.create_queue("services")
    script = write(tmp_path / "remote_pipe.py", PIPELINE)
    launched = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=agents.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert launched.returncode == 0, launched.stdout + launched.stderr
    assert "not reached" not in launched.stdout
    (run,) = store.find_tasks(TaskFilter(system_tags=("pipeline",)))
    assert run.status == TaskStatus.queued and run.queue == "services"

    services = agents.start("-q", "services", "--services-mode", "--id", "services-agent", name="services")
    steps = agents.start("-q", "default", "--id", "steps-agent", name="steps")
    wait_for(lambda: record(store, run.id).status.is_final, 60, "the remote run to end")
    final = record(store, run.id)
    assert final.status == TaskStatus.completed, log_text(store, run.id) + agents.output(services)
    assert final.worker == "services-agent"
    by_name = {t.name: t for t in store.find_tasks(TaskFilter(parent=run.id))}
    assert {t.worker for t in by_name.values()} == {"steps-agent"}
    assert Task.get_task(task_id=by_name["total"].id).get_parameters()["return/result"] == 6
    assert "making 4" in log_text(store, by_name["make"].id)
    for proc in (services, steps):
        proc.terminate()
        assert proc.wait(10) == 0
