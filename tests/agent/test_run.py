"""Agents running queued tasks: scripts, function steps, controllers, services mode, queues list."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from taskmill import Task
from taskmill.core.states import TaskStatus, TaskTypes
from taskmill.store.base import TaskFilter, TaskStore
from tests.agent.conftest import TASKMILL, Agents, enqueue, log_text, record, script_task, wait_for, write

CONNECT_SCRIPT = """
from taskmill import Task
task = Task.init(project_name="ignored", task_name="ignored")
args = task.connect({"value": 1, "note": "default"})
print("value is", args["value"], "note is", args["note"])
task.upload_artifact("doubled", args["value"] * 2)
"""

PIPELINE = """
from taskmill import PipelineController

def double(x: int = 1) -> int:
    print("double got", x)
    return x * 2

pipe = PipelineController(name="fn", project="agent-tests", version="1.0")
pipe.add_function_step("double", double, function_kwargs={"x": 3}, function_return=["result"])
pipe.start_locally(run_pipeline_steps_locally=True)
print("RUN", pipe.id)
"""


def function_step(tmp_path: Path, agents: Agents) -> str:
    """The id of a function step task that ran once in a local pipeline (process mode)."""
    path = write(tmp_path / "pipe.py", PIPELINE)
    proc = subprocess.run(
        [sys.executable, str(path)], cwd=tmp_path, env=agents.env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run_id = proc.stdout.split("RUN ")[-1].split()[0]
    (step,) = agents.store.find_tasks(TaskFilter(parent=run_id, name="double"))
    return step.id


def test_burst_runs_scripts_and_function_steps(tmp_path: Path, agents: Agents, store: TaskStore) -> None:
    step = function_step(tmp_path, agents)
    clone = Task.clone(step, name="double again")
    clone.set_parameters({"kwargs/x": 21})  # an override: the step must see it
    connect = script_task(write(tmp_path / "connect.py", CONNECT_SCRIPT), value=7, note="from the test")
    plain = script_task(write(tmp_path / "plain.py", "print('plain script, no Task.init')\n"))
    exits = script_task(write(tmp_path / "exits.py", "import sys\nprint('bye')\nsys.exit(3)\n"))
    enqueue(clone, connect, plain, exits)

    result = agents.run("--queue", "default", "--burst", "--id", "burst-1")
    assert result.returncode == 0, result.stderr
    assert "queues default are empty: exiting (burst mode)" in result.stderr

    done = record(store, clone)
    assert done.status == TaskStatus.completed, log_text(store, clone)
    assert done.worker == "burst-1"
    assert Task.get_task(task_id=clone.id).get_parameters()["return/result"] == 42
    assert "double got 21" in log_text(store, clone)

    assert record(store, connect).status == TaskStatus.completed, log_text(store, connect)
    assert "value is 7 note is from the test" in log_text(store, connect)
    assert Task.get_task(task_id=connect.id).artifacts["doubled"].get() == 14

    assert record(store, plain).status == TaskStatus.completed
    assert "plain script, no Task.init" in log_text(store, plain)  # the agent attaches it to its task

    failed = record(store, exits)
    assert failed.status == TaskStatus.failed
    assert "bye" in log_text(store, exits)
    assert store.list_workers() == []  # unregistered on exit


def test_exit_code_decides_when_the_child_records_nothing(
    tmp_path: Path, agents: Agents, store: TaskStore
) -> None:
    # os._exit skips every handler: the task is still in progress when the process is gone.
    hard = script_task(write(tmp_path / "hard.py", "import os\nos._exit(5)\n"))
    killed = script_task(
        write(tmp_path / "killed.py", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n")
    )
    enqueue(hard, killed)
    assert agents.run("-q", "default", "--burst").returncode == 0
    assert record(store, hard).status == TaskStatus.failed
    assert record(store, hard).status_message == "process exited with code 5"
    assert record(store, killed).status_message == "process killed by signal SIGKILL"


MODE = """
import os
open(os.environ["TASKMILL_TASK_ID"] + ".mode", "w").write(os.environ.get("TASKMILL_PIPELINE_MODE", "-"))
"""


def test_controller_runs_in_queue_mode(tmp_path: Path, agents: Agents, store: TaskStore) -> None:
    script = write(tmp_path / "mode.py", MODE)
    ctl = Task.create(
        project_name="agent-tests", task_name="ctl", task_type=TaskTypes.controller, script=str(script)
    )
    store.update_task(ctl.id, system_tags=["pipeline"])
    other = script_task(script, "not a controller")
    enqueue(ctl, other)
    assert agents.run("-q", "default", "--burst").returncode == 0
    assert (tmp_path / f"{ctl.id}.mode").read_text() == "queue"
    assert (tmp_path / f"{other.id}.mode").read_text() == "-"


def test_max_tasks_and_queue_order(tmp_path: Path, agents: Agents, store: TaskStore) -> None:
    store.create_queue("high")
    path = write(tmp_path / "t.py", "print('ran')\n")
    low = [script_task(path, f"low{i}") for i in range(2)]
    high = script_task(path, "high")
    enqueue(*low)
    enqueue(high, queue="high")
    result = agents.run("-q", "high", "-q", "default", "--max-tasks", "2")
    assert result.returncode == 0, result.stderr
    assert "ran 2 task(s) (--max-tasks): exiting" in result.stderr
    assert record(store, high).status == TaskStatus.completed  # the first queue is served first
    assert [record(store, t).status for t in low] == [TaskStatus.completed, TaskStatus.queued]


def test_unknown_queue_is_refused_unless_created(agents: Agents, store: TaskStore) -> None:
    result = agents.run("-q", "nope", "--burst", "--no-create-queue")
    assert result.returncode == 1
    assert "no queue named 'nope'" in result.stderr
    assert agents.run("-q", "nope", "--burst").returncode == 0  # agents create what they serve
    assert store.get_queue("nope").depth == 0


def test_services_mode_runs_tasks_concurrently(tmp_path: Path, agents: Agents, store: TaskStore) -> None:
    script = write(
        tmp_path / "long.py",
        """
        import json, os, sys, time
        start = time.time()
        time.sleep(1.5)
        out = os.path.join(os.path.dirname(sys.argv[0]), os.environ["TASKMILL_TASK_ID"] + ".json")
        open(out, "w").write(json.dumps([start, time.time()]))
        """,
    )
    tasks = [script_task(script, f"long{i}") for i in range(2)]
    enqueue(*tasks)
    started = time.monotonic()
    result = agents.run("-q", "default", "--services-mode", "--burst")
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 3.0 + 2.0  # sequential would take 3 s of sleeping alone
    (a0, a1), (b0, b1) = (json.loads((tmp_path / f"{t.id}.json").read_text()) for t in tasks)
    assert a0 < b1 and b0 < a1, "the two tasks did not overlap"


def test_queues_list_shows_agents_depth_and_running_task(
    tmp_path: Path, agents: Agents, store: TaskStore
) -> None:
    store.create_queue("idle")
    script = write(tmp_path / "slow.py", "import time\nprint('slow started', flush=True)\ntime.sleep(30)\n")
    slow = script_task(script, "slow")
    waiting = script_task(script, "waiting")
    enqueue(slow, waiting)
    proc = agents.start("-q", "default", "--id", "lister")
    wait_for(lambda: "slow started" in log_text(store, slow), 15, "the slow task to start")
    wait_for(
        lambda: (w := store.list_workers()) and w[0].task_id == slow.id, 5, "a heartbeat naming the task"
    )

    listed = subprocess.run(
        [TASKMILL, "queues", "list", "--json"], env=agents.env, capture_output=True, text=True
    )
    data = {q["name"]: q for q in json.loads(listed.stdout)}
    assert data["default"]["depth"] == 1
    (agent,) = data["default"]["agents"]
    assert agent["id"] == "lister" and agent["running"] == [{"id": slow.id, "name": "slow"}]
    assert data["idle"]["agents"] == []

    table = subprocess.run(
        [TASKMILL, "queues", "list"], env={**agents.env, "COLUMNS": "200"}, capture_output=True, text=True
    )
    assert f"lister: {slow.id[:8]} slow" in table.stdout
    proc.terminate()
    assert proc.wait(10) == 0


def test_sigterm_aborts_the_running_task_and_unregisters(
    tmp_path: Path, agents: Agents, store: TaskStore
) -> None:
    slow = script_task(write(tmp_path / "slow.py", "import time\nprint('up', flush=True)\ntime.sleep(60)\n"))
    enqueue(slow)
    proc = agents.start("-q", "default", "--id", "stopper")
    wait_for(lambda: "up" in log_text(store, slow), 15, "the task to start")
    proc.terminate()
    assert proc.wait(10) == 0
    final = record(store, slow)
    assert final.status == TaskStatus.stopped
    assert final.status_message == "agent stopper was stopped (SIGTERM) while running this task"
    assert store.list_workers() == []
    assert "aborting task" in agents.output(proc)


def test_an_id_in_use_by_a_live_agent_is_refused(agents: Agents, store: TaskStore) -> None:
    store.register_worker("twin", ["default"], {})
    result = agents.run("-q", "default", "--burst", "--id", "twin")
    assert result.returncode == 1
    assert "agent id 'twin' is in use by a live agent" in result.stderr
