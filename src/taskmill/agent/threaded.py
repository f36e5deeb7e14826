"""What every kind of task execution of an agent is: one claimed task run on a thread of its own.

:class:`~taskmill.agent.execution.TaskExecution` (a process from a warm worker) and
:class:`~taskmill.agent.containers.ContainerExecution` (a container) share this; the agent's
loop uses only what is here.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod

from taskmill.core.model import TaskRecord


class ThreadedExecution(ABC):
    """One claimed task run on a daemon thread; subclasses give the thread's body
    (:meth:`_run`) and :meth:`abort`, which may be called from any thread."""

    #: the thread's name is this and the task id's first 8 characters
    thread_prefix = "taskmill-task"

    def __init__(self, record: TaskRecord, outcome: str) -> None:
        self.record = record
        #: how the task ended, e.g. ``completed (completed)``; set before the done callback runs
        self.outcome = outcome
        self._thread = threading.Thread(
            target=self._run, name=f"{self.thread_prefix}-{record.id[:8]}", daemon=True
        )

    @property
    def task_id(self) -> str:
        """The task's id."""
        return self.record.id

    def start(self) -> None:
        """Start the execution thread. Non-blocking."""
        self._thread.start()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the execution to end; True if it has."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @abstractmethod
    def abort(self, reason: str | None = None) -> None:
        """Stop the task. ``reason``: the agent's own (shutdown), recorded on the task; None:
        somebody else stopped it already. Idempotent."""

    @abstractmethod
    def _run(self) -> None:
        """The thread's body: run the task to its end, then call the done callback."""
