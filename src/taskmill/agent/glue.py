"""The loop every glue agent shares: claim a task, submit it as a scheduler job, track the job.

A glue agent (``taskmill agent --backend slurm|kubernetes``) never runs a task itself: each
claimed task becomes one job of the cluster scheduler whose process is ``taskmill agent execute
TASK_ID --claimed-by AGENT``, which records the task's own end (completed, failed with its
traceback, stopped). :class:`GlueLoop` holds what is the same for every scheduler: registering
as a worker, claiming while fewer than ``max_jobs`` jobs are live, polling the live jobs every
``poll`` seconds, cancelling the job of a task set ``stopped``, and, once a job ended, ending
the task only when the job could not (compare-and-set from ``in_progress``: an end the task
recorded always stands). A subclass says how to submit, inspect and cancel one job.
Blocking; single-threaded.
"""

from __future__ import annotations

import os
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

from taskmill.core.states import TaskStatus
from taskmill.errors import ConflictError, ExecutionError, InvalidTransitionError
from taskmill.store.base import TaskStore

#: what a job's end means for its task when the task recorded none: (status, message)
JobEnd = tuple[TaskStatus, str]


@dataclass(frozen=True, slots=True, kw_only=True)
class GlueOptions:
    """How a glue agent's loop runs; each scheduler's options add their own fields."""

    queues: tuple[str, ...]
    worker_id: str
    poll: float = 1.0  #: seconds between looks at the live jobs and the queues
    burst: bool = False  #: exit once the queues are empty and no job is left
    max_jobs: int = 16  #: jobs submitted and not ended at most


class GlueLoop(ABC):
    """The claim-submit-track loop; subclasses implement :meth:`submit`, :meth:`outcome` and
    :meth:`cancel` for one scheduler."""

    mode = "glue"  #: the worker record's ``mode``

    def __init__(self, store: TaskStore, options: GlueOptions) -> None:
        self._store = store
        self._queues = tuple(options.queues)
        self._worker_id = options.worker_id
        self._poll = options.poll
        self._burst = options.burst
        self._max_jobs = options.max_jobs
        self._jobs: dict[str, str] = {}  # task id -> the scheduler's job id
        self.submitted = 0

    @abstractmethod
    def submit(self, task_id: str) -> str:
        """Submit the job executing ``task_id``; its job id. ExecutionError when refused."""

    @abstractmethod
    def outcome(self, task_id: str, job_id: str) -> JobEnd | None:
        """None while the job may still run; once it ended, what that means for a task that
        recorded no end of its own."""

    @abstractmethod
    def cancel(self, task_id: str, job_id: str) -> None:
        """Cancel the job (the task was stopped); idempotent, also for a job already gone."""

    def run(self) -> int:
        """Serve until stopped (KeyboardInterrupt) or, in burst mode, drained. Returns 0."""
        self._store.register_worker(self._worker_id, self._queues, {"mode": self.mode, "pid": os.getpid()})
        try:
            while True:
                claimed = self._claim_one() if len(self._jobs) < self._max_jobs else False
                self.track()
                if claimed:
                    continue
                if self._burst and not self._jobs:
                    return 0
                time.sleep(self._poll)
                self._store.heartbeat(self._worker_id)
        finally:
            self._store.unregister_worker(self._worker_id)

    def _claim_one(self) -> bool:
        record = self._store.claim(self._queues, self._worker_id)
        if record is None:
            return False
        try:
            self._jobs[record.id] = self.submit(record.id)
            self.submitted += 1
        except ExecutionError as exc:
            self.end(record.id, TaskStatus.failed, str(exc))
        return True

    def track(self) -> None:
        """One pass over the live jobs: cancel those of stopped tasks, settle those that ended."""
        for task_id, job_id in list(self._jobs.items()):
            if self._store.get_task(task_id).status == TaskStatus.stopped:
                self.cancel(task_id, job_id)
            end = self.outcome(task_id, job_id)
            if end is None:
                continue
            del self._jobs[task_id]
            if self._store.get_task(task_id).status.is_final:
                continue  # the job recorded the task's end (or it was stopped): that stands
            self.end(task_id, *end)

    def end(self, task_id: str, status: TaskStatus, why: str) -> None:
        """End an ``in_progress`` task with ``why`` (no-op when it ended meanwhile)."""
        try:
            self._store.set_status(
                task_id, status, message=why, reason=why, expected=(TaskStatus.in_progress,)
            )
        except (ConflictError, InvalidTransitionError):
            pass  # ended meanwhile: theirs stands

    def record_job(self, task_id: str, key: str, job_id: str) -> None:
        """Note the job in the task's ``runtime[key]`` (what `taskmill tasks show` prints)."""
        runtime = dict(self._store.get_task(task_id).runtime)
        self._store.update_task(task_id, runtime={**runtime, key: job_id})


def ensure_queues(store: TaskStore, queues: Sequence[str]) -> None:
    """Create the missing queues, as the agent does."""
    for name in queues:
        try:
            store.get_queue(name)
        except Exception:  # a missing queue is created, as the agent does
            store.create_queue(name)
