"""Stopping tasks: aborted from outside within 2 s, and agents that die mid-task."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from taskmill.core.states import TaskStatus
from taskmill.store.base import TaskStore
from tests.agent.conftest import Agents, enqueue, log_text, record, script_task, wait_for, write

# Writes its pid, then sleeps: a long task whose process the test can watch.
LONG = """
import os, sys, time
pid_file = os.path.join(os.path.dirname(sys.argv[0]), os.environ["TASKMILL_TASK_ID"] + ".pid")
open(pid_file, "w").write(str(os.getpid()))
print("long task up", flush=True)
time.sleep(120)
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0); its state in /proc says it is gone
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def started_pid(tmp_path: Path, task_id: str, store: TaskStore) -> int:
    pid_file = tmp_path / f"{task_id}.pid"
    wait_for(lambda: pid_file.exists() and pid_file.read_text(), 15, "the long task to start")
    wait_for(lambda: "long task up" in log_text(store, task_id), 5, "its log line")
    return int(pid_file.read_text())


def test_abort_kills_the_process_within_two_seconds(tmp_path: Path, agents: Agents, store: TaskStore) -> None:
    proc = agents.start("-q", "default", "--id", "aborter")
    wait_for(lambda: store.list_workers(), 15, "the agent to register")
    time.sleep(0.2)  # idle: it now waits on the event feed
    task = script_task(write(tmp_path / "long.py", LONG), "long")
    enqueued = time.monotonic()
    enqueue(task)
    pid = started_pid(tmp_path, task.id, store)
    assert time.monotonic() - enqueued < 2.0, "an idle agent must pick up a new task at once"

    store.set_status(task.id, TaskStatus.stopped, message="aborted by the test")  # what `abort` does
    stopped_at = time.monotonic()
    wait_for(lambda: not alive(pid), 2.0, "the task's process to be killed")
    assert time.monotonic() - stopped_at < 2.0
    time.sleep(0.3)  # the agent's bookkeeping after the exit must not overwrite the abort
    final = record(store, task)
    assert final.status == TaskStatus.stopped and final.status_message == "aborted by the test"
    assert proc.poll() is None, "the agent goes on serving after an abort"
    wait_for(lambda: store.list_workers()[0].task_id is None, 5, "the agent to report itself idle")


def test_killed_agent_is_detected_by_another(tmp_path: Path, agents: Agents, store: TaskStore) -> None:
    fast = ("--heartbeat", "0.2", "--dead-after", "1")
    victim = agents.start("-q", "default", "--id", "victim", *fast)
    task = script_task(write(tmp_path / "long.py", LONG), "long")
    enqueue(task)
    pid = started_pid(tmp_path, task.id, store)
    victim.send_signal(signal.SIGKILL)
    assert victim.wait(5) == -signal.SIGKILL
    wait_for(lambda: not alive(pid), 5, "the warm worker to kill the orphaned task")  # no leftovers
    assert record(store, task).status == TaskStatus.in_progress  # nobody has noticed yet

    time.sleep(1.2)  # longer than --dead-after since the victim's last heartbeat
    result = agents.run("-q", "default", "--burst", "--id", "survivor", *fast)
    assert result.returncode == 0, result.stderr
    final = record(store, task)
    assert final.status == TaskStatus.failed
    assert final.status_message.startswith("agent victim stopped sending heartbeats (last seen ")
    assert "stopped sending heartbeats" in log_text(store, task)
    assert [w.id for w in store.list_workers()] == []  # the victim was unregistered, the survivor left


def test_a_dead_warm_worker_is_replaced(tmp_path: Path, agents: Agents, store: TaskStore) -> None:
    task = script_task(write(tmp_path / "long.py", LONG), "long")
    enqueue(task)
    proc = agents.start("-q", "default", "--id", "phoenix")
    pid = started_pid(tmp_path, task.id, store)
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    (warm,) = [int(c) for c in children]  # the agent's only child process: its warm worker
    os.kill(warm, signal.SIGKILL)
    wait_for(lambda: record(store, task).status.is_final, 5, "the orphaned task to be reported")
    assert record(store, task).status_message == "process killed by signal SIGKILL"
    assert not alive(pid)

    after = script_task(write(tmp_path / "after.py", "print('after the crash')\n"), "after")
    enqueue(after)
    wait_for(lambda: record(store, after).status.is_final, 15, "the next task to run")
    assert record(store, after).status == TaskStatus.completed, log_text(store, after)
    assert "the warm worker" in agents.output(proc) and "starting a new one" in agents.output(proc)
