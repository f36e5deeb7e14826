"""``taskmill agent execute``'s logic: one queued or draft task run to completion here."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from taskmill.agent.execute_one import (
    EXIT_FAILED,
    EXIT_NOT_TAKEN,
    ExecuteOptions,
    TaskExecutor,
    default_executor_id,
    execute_task,
)
from taskmill.api.session import PROCESS
from taskmill.core.states import TaskStatus
from taskmill.store.base import TaskStore
from tests.agent.conftest import enqueue, log_text, record, script_task, wait_for, write

SCRIPT = """
from taskmill import Task
task = Task.init(project_name="ignored", task_name="ignored")
args = task.connect({"value": 1})
print("value is", args["value"])
task.upload_artifact("doubled", args["value"] * 2)
"""


def options(tm_home: Path, task_id: str) -> ExecuteOptions:
    return ExecuteOptions(
        worker_id=default_executor_id(task_id),
        cache_dir=tm_home / "agent",
        child_env=PROCESS.session().settings.to_env(),
        heartbeat=0.2,
        dead_after=5,
    )


def test_a_queued_task_runs_to_completion_with_its_artifacts(
    tm_home: Path, tmp_path: Path, store: TaskStore
) -> None:
    store.create_queue("default")
    task = script_task(write(tmp_path / "job.py", SCRIPT), value=21)
    enqueue(task)
    assert execute_task(store, task.id, options(tm_home, task.id)) == 0
    rec = record(store, task)
    assert rec.status == TaskStatus.completed
    assert store.queue_entries("default") == []  # it left its queue
    assert "value is 21" in log_text(store, task)
    assert {a.name for a in store.get_artifacts(task.id)} == {"doubled"}
    assert rec.worker == default_executor_id(task.id)
    assert store.list_workers() == []  # its worker record is gone with it


def test_a_draft_that_dies_fails_and_a_finished_task_is_not_taken(
    tm_home: Path, tmp_path: Path, store: TaskStore
) -> None:
    task = script_task(write(tmp_path / "die.py", "import os\nos._exit(3)\n"))
    assert record(store, task).status == TaskStatus.created
    assert execute_task(store, task.id, options(tm_home, task.id)) == EXIT_FAILED
    rec = record(store, task)
    assert rec.status == TaskStatus.failed and rec.status_message == "process exited with code 3"

    again = TaskExecutor(store, task.id, options(tm_home, task.id))
    assert again.run() == EXIT_NOT_TAKEN
    assert "only a queued or draft task" in again.outcome


@pytest.mark.parametrize("how", ["store", "signal"])
def test_stopping_the_task_or_the_executor_kills_it(
    how: str, tm_home: Path, tmp_path: Path, store: TaskStore
) -> None:
    path = write(tmp_path / "sleep.py", "import time\nprint('sleeping', flush=True)\ntime.sleep(60)\n")
    task = script_task(path)
    executor = TaskExecutor(store, task.id, options(tm_home, task.id))
    codes: list[int] = []
    thread = threading.Thread(target=lambda: codes.append(executor.run()))
    started = time.time()
    thread.start()
    wait_for(lambda: "sleeping" in log_text(store, task), 30, "the task to start")
    if how == "store":  # a person stops it (the UI, `taskmill tasks stop`)
        store.set_status(task.id, TaskStatus.stopped, message="stopped by a person", force=True)
    else:  # the batch system stops the job (SIGTERM on preemption)
        executor.request_stop("SIGTERM (preempted)")
    thread.join(30)
    assert codes == [EXIT_FAILED] and time.time() - started < 30
    rec = record(store, task)
    assert rec.status == TaskStatus.stopped
    assert rec.status_message == ("stopped by a person" if how == "store" else "SIGTERM (preempted)")


def test_the_cli_command_runs_a_draft_and_says_when_it_cannot_take_one(
    tm_home: Path, tmp_path: Path, store: TaskStore
) -> None:
    import os
    import subprocess
    import sys

    taskmill = str(Path(sys.executable).parent / "taskmill")
    env = {**os.environ, "TASKMILL_HOME": str(tm_home)}
    task = script_task(write(tmp_path / "job.py", SCRIPT), value=4)
    ran = subprocess.run(
        [taskmill, "agent", "execute", task.id, "--heartbeat", "0.2"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stderr
    assert record(store, task).status == TaskStatus.completed
    assert "value is 4" in log_text(store, task)
    again = subprocess.run(
        [taskmill, "agent", "execute", task.id], env=env, capture_output=True, text=True, timeout=60
    )
    assert again.returncode == EXIT_NOT_TAKEN
    assert "only a queued or draft task" in again.stderr
    no_queue = subprocess.run([taskmill, "agent"], env=env, capture_output=True, text=True, timeout=60)
    assert no_queue.returncode == 2 and "taskmill agent execute TASK_ID" in no_queue.stderr
