"""Leases of local runs: a task Running under a process that died is failed at the next open.

Tasks run without an agent (``Task.init`` scripts, pipeline controllers run here, their
in-process and local-process steps) have no heartbeat an agent reaper could miss. Instead, the
process that moves such a task to *Running* records itself on it: runtime property
:data:`LEASE_KEY` holds its host, pid and start time (the start time tells a reused pid from
the process that took the lease). :class:`LeaseRecording` does that recording (put before a
store class: :mod:`taskmill.store.leased_sql`, :mod:`taskmill.store.leased_http`), on
:meth:`create_task` of a running task and on :meth:`set_status` to ``in_progress``.

:func:`reap_dead_leases` runs when a store is opened (:func:`taskmill.store.factory.open_store`):
one query for the *Running* tasks, and for those whose lease names a process of this host that
no longer runs, a compare-and-set to *failed* (a pipeline step: *stopped*, interrupted, as a
resume would mark it) with a message naming the process. Tasks of a
live process, of another host (this host cannot tell), without a lease, or run by an agent (a
worker that is not local; the agents' and server's reapers judge those) are never touched.

A ``taskmill server`` records no leases (:func:`serving`): its process only relays the writes
of clients, whose processes it cannot see.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import cast

from taskmill.core.model import LogLine, TaskRecord
from taskmill.core.states import TaskStatus
from taskmill.errors import ConflictError, InvalidTransitionError, NotFoundError
from taskmill.store.base import TaskFilter, TaskStore
from taskmill.types import JSONValue

logger = logging.getLogger(__name__)

#: Runtime property holding the lease: ``{"host": str, "pid": int, "start": float}``.
LEASE_KEY = "_lease"
#: Workers of tasks run without an agent (``Task.init``, in-process steps, a local controller).
_LOCAL_WORKERS = ("", "local", "inline")
_LOCAL_WORKER_PREFIX = "pipeline controller on "
#: Seconds of rounding tolerated when comparing a process's start time with its lease's.
_START_SLACK = 0.5


@dataclass(frozen=True, slots=True)
class ProcessId:
    """One process, told apart from a later process reusing its pid by its start time."""

    host: str
    pid: int
    start: float  #: seconds since the epoch; 0.0 where it cannot be read (no ``/proc``)

    def to_json(self) -> dict[str, JSONValue]:
        """The lease's stored form."""
        return {"host": self.host, "pid": self.pid, "start": self.start}

    @classmethod
    def from_json(cls, value: JSONValue | None) -> ProcessId | None:
        """Inverse of :meth:`to_json`; None for anything that is not a lease."""
        if not isinstance(value, dict):
            return None
        host, pid, start = value.get("host"), value.get("pid"), value.get("start")
        if not isinstance(host, str) or not isinstance(pid, int) or not isinstance(start, (int, float)):
            return None
        return cls(host, pid, float(start))

    def describe(self) -> str:
        """``pid 123 on host h (started 2026-12-03 12:00:01)``."""
        when = datetime.fromtimestamp(self.start).strftime("%Y-%m-%d %H:%M:%S") if self.start else "?"
        return f"pid {self.pid} on host {self.host} (started {when})"


def boot_time() -> float | None:
    """When this host booted (seconds since the epoch), None without ``/proc``."""
    try:
        with open("/proc/stat", "rb") as fh:
            for line in fh:
                if line.startswith(b"btime"):
                    return float(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def process_start(pid: int, boot: float | None = None) -> float | None:
    """When process ``pid`` of this host started (seconds since the epoch); None if it does not
    run (or is a zombie), 0.0 where it cannot be told (no ``/proc``). Reads ``/proc`` only;
    ``boot`` (:func:`boot_time`) saves reading it again when checking many processes."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
    except FileNotFoundError:
        if os.path.isdir("/proc/self"):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return 0.0
    except (OSError, IndexError):
        return 0.0
    if fields[0] == b"Z":
        return None  # exited; its parent has not reaped it yet
    boot = boot_time() if boot is None else boot
    if boot is None:
        return 0.0
    return round(boot + int(fields[19]) / os.sysconf("SC_CLK_TCK"), 2)


def current_process() -> ProcessId:
    """This process (read each time: a forked child is a process of its own)."""
    pid = os.getpid()
    return ProcessId(socket.gethostname(), pid, process_start(pid) or 0.0)


def is_alive(proc: ProcessId, *, boot: float | None = None) -> bool | None:
    """True if ``proc`` still runs, False if it died (or its pid now belongs to a later
    process), None when it runs on another host (this host cannot tell)."""
    if proc.host != socket.gethostname():
        return None
    start = process_start(proc.pid, boot)
    if start is None:
        return False
    if not start or not proc.start:
        return True  # cannot compare start times: a running pid is taken for the lease holder
    return abs(start - proc.start) <= _START_SLACK


def is_local_worker(worker: str) -> bool:
    """True for the workers of tasks run without an agent."""
    return worker in _LOCAL_WORKERS or worker.startswith(_LOCAL_WORKER_PREFIX)


def lease_of(task: TaskRecord) -> ProcessId | None:
    """The process holding ``task``'s lease, if it has one."""
    return ProcessId.from_json(task.runtime.get(LEASE_KEY))


class LeaseRecording(TaskStore):
    """Mixin for a store class: record the lease of the local tasks this process starts running.

    Put it before the store class (``class LeasedSqlTaskStore(LeaseRecording, SqlTaskStore)``,
    in :mod:`taskmill.store.leased_sql`).
    Semantics are the store's; a status change to ``in_progress`` of a local task also writes
    the lease (in the same transaction where the store has them), and so does
    :meth:`create_task` of a running local task.
    """

    records_leases: bool = True  #: False in a server (:func:`serving`)
    _holder: tuple[int, JSONValue] | None = None  #: (pid, its lease), read once per process

    def _next(self) -> TaskStore:
        """The store class this mixin is put before (the next one in the method order)."""
        return cast(TaskStore, super())

    def _lease(self) -> JSONValue:
        """This process's lease, read from ``/proc`` once per process (every in-process step
        records it; a forked child has another pid, so it reads its own)."""
        pid = os.getpid()
        if self._holder is None or self._holder[0] != pid:
            self._holder = (pid, current_process().to_json())
        return self._holder[1]

    def create_task(self, task: TaskRecord) -> TaskRecord:
        if self.records_leases and task.status == TaskStatus.in_progress and is_local_worker(task.worker):
            task = replace(task, runtime={**task.runtime, LEASE_KEY: self._lease()})
        return self._next().create_task(task)

    def set_status(
        self,
        task_id: str,
        status: TaskStatus,
        *,
        message: str | None = None,
        reason: str | None = None,
        force: bool = False,
        expected: Sequence[TaskStatus] = (),
        worker: str | None = None,
    ) -> TaskRecord:
        if not self.records_leases or TaskStatus.parse(status) != TaskStatus.in_progress:
            return self._next().set_status(
                task_id, status, message=message, reason=reason, force=force, expected=expected, worker=worker
            )
        with self.batch():
            record = self._next().set_status(
                task_id, status, message=message, reason=reason, force=force, expected=expected, worker=worker
            )
            if is_local_worker(record.worker):
                mine = self._lease()
                if record.runtime.get(LEASE_KEY) != mine:
                    record = self.update_task(task_id, runtime={LEASE_KEY: mine})
        return record


def serving(store: TaskStore) -> None:
    """Stop ``store`` recording leases: it serves other processes' writes (a ``taskmill server``)."""
    if isinstance(store, LeaseRecording):
        store.records_leases = False


def reap_dead_leases(store: TaskStore) -> list[str]:
    """End the *Running* local tasks whose lease holder, a process of this host, died; returns their ids.

    A task of its own (a ``Task.init`` script, a pipeline run) is failed. A pipeline step (a
    task with a parent) is stopped as interrupted, as a resume does with a dead controller's
    unfinished steps (it runs again on resume); while its parent's holder still runs, that
    controller ends the step itself and it is left alone.

    Blocking: one query for the running tasks, plus (only when some lease holder died) one for
    the agents and a compare-and-set and a log line per task ended. Idempotent; safe beside
    other processes doing the same (each task is ended by one of them).
    """
    running = store.find_tasks(TaskFilter(status=(TaskStatus.in_progress,)))
    boot = boot_time()
    verdicts: dict[ProcessId, bool | None] = {}  # many tasks share one holder (a pipeline's steps)

    def alive(task: TaskRecord) -> bool | None:
        holder = lease_of(task)
        if holder is None or not is_local_worker(task.worker):
            return None
        if holder not in verdicts:
            verdicts[holder] = is_alive(holder, boot=boot)
        return verdicts[holder]

    by_id = {t.id: t for t in running}
    dead = [t for t in running if alive(t) is False]
    if not dead:
        return []
    agents = {w.id for w in store.list_workers()}
    ended = []
    for task in dead:
        parent = by_id.get(task.parent or "")
        if task.worker in agents or (parent is not None and alive(parent) is not False):
            continue  # an agent's task, or a step its (live or unknown) controller still watches
        holder = lease_of(task)
        assert holder is not None
        died = f"its process died without ending it: {holder.describe()}"
        if task.parent:
            status = TaskStatus.stopped
            message = f"interrupted: {died}; the step runs again when the pipeline is resumed"
        else:
            status, message = TaskStatus.failed, died
        try:
            store.set_status(
                task.id, status, message=message, reason=message, expected=(TaskStatus.in_progress,)
            )
        except (ConflictError, InvalidTransitionError, NotFoundError):
            continue  # it ended meanwhile, or another process ended it first
        _ended_on_open(store, task, status, message)
        ended.append(task.id)
        if not task.parent:
            ended += _stop_unstarted_steps(store, task, holder)
    return ended


def _ended_on_open(store: TaskStore, task: TaskRecord, status: TaskStatus, message: str) -> None:
    line = f"taskmill: task {status.value} when the store was next opened: {message}"
    store.append_log(task.id, [LogLine(line, "error", time.time(), 0, "stderr")])
    logger.warning("task %s (%s) %s: %s", task.id, task.name, status.value, message)


def _stop_unstarted_steps(store: TaskStore, run: TaskRecord, holder: ProcessId) -> list[str]:
    """Stop the steps a dead controller launched that never started (still *Draft*).

    A step's task is created when its controller launches it; the controller dying before
    the step's process took the task would otherwise leave a Draft that looks runnable.
    """
    message = (
        f"interrupted before it started: its controller died ({holder.describe()}); "
        "the step runs when the pipeline is resumed"
    )
    stopped = []
    for step in store.find_tasks(TaskFilter(parent=run.id, status=(TaskStatus.created,))):
        try:
            store.set_status(
                step.id, TaskStatus.stopped, message=message, reason=message, expected=(TaskStatus.created,)
            )
        except (ConflictError, InvalidTransitionError, NotFoundError):
            continue  # it started (and its process fails the start) or was ended meanwhile
        _ended_on_open(store, step, TaskStatus.stopped, message)
        stopped.append(step.id)
    return stopped


def reap_in_background(store: TaskStore) -> threading.Thread:
    """Run :func:`reap_dead_leases` on ``store`` in a daemon thread and return it (started).

    For HTTP stores: opening one must not wait for the server (it may be down; clients ride
    out outages), so the check runs beside the caller's first requests. A failure is logged
    at debug level: the next open checks again.
    """

    def reap() -> None:
        try:
            reap_dead_leases(store)
        except Exception as exc:  # a best-effort check must never break the caller
            logger.debug("could not check for tasks of dead processes: %s", exc)

    thread = threading.Thread(target=reap, name="taskmill-lease-reap", daemon=True)
    thread.start()
    return thread
