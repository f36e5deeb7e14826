"""The loop glue agents share, with local processes as the "scheduler": each job is a real
``python -m taskmill.agent.execute_one`` process (or one that dies before recording an end)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from taskmill.agent.glue import GlueLoop, GlueOptions, JobEnd
from taskmill.core.states import TaskStatus
from taskmill.errors import ExecutionError
from taskmill.store.base import TaskStore
from tests.agent.conftest import Agents, enqueue, record, script_task, write


class ProcessGlue(GlueLoop):
    """Jobs are local processes: ``execute_one`` for most tasks, an early exit for ``crash``."""

    def __init__(self, store: TaskStore, env: dict[str, str]) -> None:
        super().__init__(
            store, GlueOptions(queues=("default",), worker_id="glue-test", poll=0.05, burst=True)
        )
        self.env = env
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def submit(self, task_id: str) -> str:
        name = self._store.get_task(task_id).name
        if name == "refused":
            raise ExecutionError("the scheduler refused the job: no such partition")
        argv = [sys.executable, "-m", "taskmill.agent.execute_one", task_id, "--claimed-by", "glue-test"]
        if name == "crash":
            argv = [sys.executable, "-c", "raise SystemExit(9)"]
        self.procs[task_id] = subprocess.Popen(argv, env=self.env)
        return str(self.procs[task_id].pid)

    def outcome(self, task_id: str, job_id: str) -> JobEnd | None:
        code = self.procs[task_id].poll()
        return None if code is None else (TaskStatus.failed, f"job {job_id} exited {code}")

    def cancel(self, task_id: str, job_id: str) -> None:
        self.procs[task_id].terminate()


def test_the_loop_runs_jobs_and_ends_only_tasks_their_jobs_did_not(
    agents: Agents, tmp_path: Path, store: TaskStore
) -> None:
    ok = script_task(write(tmp_path / "ok.py", "print('fine')\n"))
    crash = script_task(write(tmp_path / "crash.py", "print('never')\n"), name="crash")
    refused = script_task(write(tmp_path / "refused.py", "print('never')\n"), name="refused")
    enqueue(ok, crash, refused)
    glue = ProcessGlue(store, agents.env)
    assert glue.run() == 0
    assert glue.submitted == 2
    assert record(store, ok).status == TaskStatus.completed  # the job's own end stands
    crashed = record(store, crash)
    assert crashed.status == TaskStatus.failed
    assert crashed.status_message == f"job {glue.procs[crash.id].pid} exited 9"
    no_job = record(store, refused)
    assert no_job.status == TaskStatus.failed
    assert no_job.status_message == "the scheduler refused the job: no such partition"
    assert store.get_queue("default") is not None and not any(
        w.id == "glue-test" for w in store.list_workers()
    )
