"""A controller running on the only agent of its steps' queue: the steps could never start. The
run says so (its console, the waiting step's message) instead of waiting silently; a second agent
for the queue then unblocks it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from taskmill.core.states import TaskStatus
from taskmill.store.base import TaskFilter, TaskStore
from tests.agent.conftest import Agents, log_text, record, wait_for, write

PIPELINE = """
from taskmill import PipelineController

def one() -> int:
    return 1

pipe = PipelineController(name="blocked", project="agent-tests", version="1.0")
pipe.set_default_execution_queue("default")
pipe.add_function_step("one", one, function_return=["value"])
pipe.start(queue="default")   # the controller on the steps' own queue
"""


def test_a_controller_on_its_steps_only_agent_says_so(
    tmp_path: Path, agents: Agents, store: TaskStore
) -> None:
    script = write(tmp_path / "blocked_pipe.py", PIPELINE)
    launched = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=agents.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert launched.returncode == 0, launched.stdout + launched.stderr
    (run,) = store.find_tasks(TaskFilter(system_tags=("pipeline",)))

    only = agents.start("-q", "default", "--id", "lone-agent", name="lone")
    wait_for(lambda: store.find_tasks(TaskFilter(parent=run.id)), 60, "the step to be queued")
    (step,) = store.find_tasks(TaskFilter(parent=run.id))
    wait_for(lambda: "cannot start" in log_text(store, run.id), 30, "the controller's warning")
    console = log_text(store, run.id)
    assert "queue 'default' is served only by lone-agent, which runs this pipeline's controller" in console
    assert "taskmill agent --queue default" in console
    waiting = record(store, step.id)
    assert waiting.status == TaskStatus.queued
    assert "taskmill: step 'one' cannot start" in log_text(store, step.id)  # the step's console in the UI

    helper = agents.start("-q", "default", "--id", "second-agent", name="second")
    wait_for(lambda: record(store, run.id).status.is_final, 60, "the run to end")
    assert record(store, run.id).status == TaskStatus.completed, agents.output(only) + agents.output(helper)
    assert record(store, step.id).worker == "second-agent"
