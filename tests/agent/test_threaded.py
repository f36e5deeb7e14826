"""The shared shape of an agent's task executions: one named daemon thread per claimed task."""

from __future__ import annotations

import threading

from taskmill.agent.threaded import ThreadedExecution
from taskmill.core.model import TaskRecord, new_id


class _Recorded(ThreadedExecution):
    thread_prefix = "test-exec"

    def __init__(self, record: TaskRecord) -> None:
        super().__init__(record, "not yet")
        self.gate = threading.Event()
        self.ran_on = ""

    def abort(self, reason: str | None = None) -> None:
        self.gate.set()

    def _run(self) -> None:
        self.ran_on = threading.current_thread().name
        self.gate.wait(10)
        self.outcome = "done"


def test_an_execution_runs_on_its_own_named_daemon_thread_until_it_ends() -> None:
    record = TaskRecord(id=new_id(), name="t", project="p")
    execution = _Recorded(record)
    assert execution.task_id == record.id and execution.outcome == "not yet"
    execution.start()
    assert not execution.join(0.05)  # still running: the gate is closed
    execution.abort()
    assert execution.join(5)
    assert execution.ran_on == f"test-exec-{record.id[:8]}" and execution.outcome == "done"
