"""No step process outlives the controller or agent that started it (real processes, SIGKILL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from taskmill.agent.children import stop_leftovers
from taskmill.core.states import TaskStatus
from taskmill.store.base import TaskStore

from .conftest import TASKMILL, Agents, enqueue, script_task, wait_for, write

#: seconds a step sleeps before its side effect; the kill lands well inside
SLEEP = 3.0

PIPELINE = f"""
import os, sys, time
from pathlib import Path
from taskmill import PipelineController

def slow(x):
    work = Path(sys.argv[1])
    (work / f"pid-{{os.getpid()}}").touch()
    time.sleep({SLEEP})
    (work / "side-effect").touch()
    return x

if __name__ == "__main__":
    pipe = PipelineController(name="orphans", project="tests")
    for name in ("a", "b"):
        pipe.add_function_step(name, slow, function_kwargs={{"x": 1}}, function_return="r")
    pipe.start_locally(run_pipeline_steps_locally=True)
"""

TASK = f"""
import os, sys, time
from pathlib import Path
from taskmill import Task
task = Task.init(project_name="agent-tests", task_name="slow")
work = Path(task.connect({{"work": ""}})["work"])
(work / f"pid-{{os.getpid()}}").touch()
time.sleep({SLEEP})
(work / "side-effect").touch()
"""


def alive(pid: int) -> bool:
    """Whether ``pid`` is a live (not zombie) process, from /proc."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def step_pids(work: Path) -> list[int]:
    return [int(p.name.split("-")[1]) for p in work.glob("pid-*")]


def assert_no_survivor(work: Path) -> None:
    pids = step_pids(work)
    wait_for(lambda: not any(alive(p) for p in pids), 5, f"step processes {pids} to die")
    time.sleep(SLEEP + 0.5)  # past the step's sleep: a survivor would write its side effect now
    assert not (work / "side-effect").exists(), "a step process outlived the kill"
    assert not any(alive(p) for p in step_pids(work))


def test_killed_controller_group_leaves_no_step_running(tm_home: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    script = write(tmp_path / "pipe.py", PIPELINE)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKMILL_")}
    env["TASKMILL_HOME"] = str(tm_home)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(work)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for(lambda: len(step_pids(work)) == 2, 60, "both steps to start")
        os.killpg(proc.pid, signal.SIGKILL)  # the controller and everything in its group
        proc.wait(10)
        assert_no_survivor(work)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_killed_agent_group_leaves_no_task_running(tmp_path: Path, agents: Agents, store: TaskStore) -> None:
    work = tmp_path / "work"
    work.mkdir()
    log = (tmp_path / "agent.log").open("w")
    victim = subprocess.Popen(
        [TASKMILL, "agent", "-q", "default", "--id", "victim"],
        env=agents.env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    try:
        task = script_task(write(tmp_path / "slow.py", TASK), "slow", work=str(work))
        enqueue(task)
        wait_for(lambda: step_pids(work), 30, "the task to start")
        os.killpg(victim.pid, signal.SIGKILL)  # the agent and its warm worker at once
        victim.wait(10)
        assert_no_survivor(work)
    finally:
        if victim.poll() is None:
            victim.kill()
            victim.wait()


def test_killed_agent_leaves_no_task_running(tmp_path: Path, agents: Agents, store: TaskStore) -> None:
    work = tmp_path / "work"
    work.mkdir()
    victim = agents.start("-q", "default", "--id", "victim")
    task = script_task(write(tmp_path / "slow.py", TASK), "slow", work=str(work))
    enqueue(task)
    wait_for(lambda: step_pids(work), 30, "the task to start")
    victim.send_signal(signal.SIGKILL)  # the agent alone: its warm worker sees the pipe close
    victim.wait(10)
    assert_no_survivor(work)


def _start_time(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]


def test_a_new_agent_stops_what_dead_agents_left(tmp_path: Path) -> None:
    folder = tmp_path / "children"
    leftover = subprocess.Popen(["sleep", "60"], start_new_session=True)
    innocent = subprocess.Popen(["sleep", "60"], start_new_session=True)
    live_agents_child = subprocess.Popen(["sleep", "60"], start_new_session=True)
    dead_agent = subprocess.Popen(["true"])
    dead_agent.wait()
    try:
        dead_dir = folder / f"{dead_agent.pid}-1"
        dead_dir.mkdir(parents=True)
        (dead_dir / f"{leftover.pid}-{_start_time(leftover.pid)}").touch()
        (dead_dir / f"{innocent.pid}-1").touch()  # a recycled pid: another start time
        live_dir = folder / f"{os.getppid()}-{_start_time(os.getppid())}"  # pytest's parent lives on
        live_dir.mkdir()
        (live_dir / f"{live_agents_child.pid}-{_start_time(live_agents_child.pid)}").touch()

        assert stop_leftovers(folder) == 1
        assert leftover.wait(5) == -signal.SIGKILL
        assert innocent.poll() is None and live_agents_child.poll() is None
        assert not dead_dir.exists() and live_dir.exists()
        assert stop_leftovers(folder) == 0  # idempotent
    finally:
        for proc in (leftover, innocent, live_agents_child):
            proc.kill()
            proc.wait()


ZOMBIE = """
from taskmill import Task
task = Task.init(project_name="agent-tests", task_name="zombie")
task.upload_artifact("result", {"by": "zombie"})
"""


def test_a_superseded_attempt_cannot_complete_the_task(
    tm_home: Path, tmp_path: Path, store: TaskStore
) -> None:
    store.create_queue("default")
    task = script_task(write(tmp_path / "zombie.py", ZOMBIE), "zombie")
    for _ in range(2):  # claimed, its agent declared dead, claimed again by the retry
        enqueue(task)
        assert store.claim(["default"], "agent") is not None
        if store.attempt_of(task.id) == 1:
            store.set_status(task.id, TaskStatus.failed, message="agent died", force=True)
            store.set_status(task.id, TaskStatus.created, force=True)
    assert store.attempt_of(task.id) == 2
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKMILL_")}
    env.update(TASKMILL_HOME=str(tm_home), TASKMILL_TASK_ID=task.id, TASKMILL_ATTEMPT="1")
    zombie = subprocess.run(
        [sys.executable, str(tmp_path / "zombie.py")], env=env, capture_output=True, text=True, timeout=60
    )
    assert zombie.returncode != 0
    assert "attempt 1 was superseded by attempt 2" in zombie.stderr
    final = store.get_task(task.id)
    assert final.status == TaskStatus.in_progress  # still the retry's
    assert store.get_artifacts(task.id) == []
