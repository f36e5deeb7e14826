"""Task types and statuses, with the one transition table every layer checks against."""

from __future__ import annotations

from enum import StrEnum

from taskmill.errors import InvalidTransitionError


class TaskTypes(StrEnum):
    """What a task is for (ClearML's ``Task.TaskTypes``)."""

    training = "training"
    testing = "testing"
    inference = "inference"
    data_processing = "data_processing"
    application = "application"
    monitor = "monitor"
    controller = "controller"
    optimizer = "optimizer"
    service = "service"
    qc = "qc"
    custom = "custom"


class TaskStatus(StrEnum):
    """Lifecycle status of a task (ClearML's ``Task.TaskStatusEnum`` values).

    ``created`` is shown as *Draft* and ``stopped`` as *Aborted*; :meth:`parse` accepts both names.

    ``str()``, ``format()`` and ``repr()`` give the plain value, as ClearML's string statuses
    print (``{'load': 'completed'}``, not ``<...: 'completed'>``); it compares equal to it too.
    """

    def __repr__(self) -> str:
        return repr(self.value)

    created = "created"
    queued = "queued"
    in_progress = "in_progress"
    stopped = "stopped"
    completed = "completed"
    failed = "failed"
    published = "published"

    @classmethod
    def parse(cls, value: str | TaskStatus) -> TaskStatus:
        """Return the status named ``value``, accepting UI labels (draft, aborted, running, pending)."""
        if isinstance(value, TaskStatus):
            return value
        key = value.strip().lower()
        key = _ALIASES.get(key, key)
        try:
            return cls(key)
        except ValueError:
            names = ", ".join(s.value for s in cls)
            raise ValueError(f"unknown task status '{value}'; expected one of: {names}") from None

    @property
    def label(self) -> str:
        """The label people see (Draft, Pending, Running, Aborted, ...)."""
        return _LABELS[self]

    @property
    def is_final(self) -> bool:
        """True for statuses a task ends in (completed, failed, stopped, published)."""
        return self in FINAL_STATUSES

    @property
    def succeeded(self) -> bool:
        """True when the task ended well: completed, or completed and then published."""
        return self in SUCCEEDED_STATUSES


_ALIASES = {
    "draft": "created",
    "aborted": "stopped",
    "running": "in_progress",
    "pending": "queued",
    "in-progress": "in_progress",
}

_LABELS = {
    TaskStatus.created: "Draft",
    TaskStatus.queued: "Pending",
    TaskStatus.in_progress: "Running",
    TaskStatus.stopped: "Aborted",
    TaskStatus.completed: "Completed",
    TaskStatus.failed: "Failed",
    TaskStatus.published: "Published",
}

FINAL_STATUSES = frozenset(
    {TaskStatus.completed, TaskStatus.failed, TaskStatus.stopped, TaskStatus.published}
)

#: Statuses of a task that ended well (its outputs can be used).
SUCCEEDED_STATUSES = frozenset({TaskStatus.completed, TaskStatus.published})

_S = TaskStatus

#: The one transition table. A status may always be "set" to itself (idempotent no-op).
#: Reset (-> created) is allowed from any non-published status: it is how a task is re-run.
TRANSITIONS: dict[TaskStatus, frozenset[TaskStatus]] = {
    _S.created: frozenset({_S.queued, _S.in_progress, _S.completed, _S.failed, _S.stopped}),
    _S.queued: frozenset({_S.created, _S.in_progress, _S.stopped, _S.failed}),
    _S.in_progress: frozenset({_S.completed, _S.failed, _S.stopped, _S.created}),
    _S.stopped: frozenset({_S.created, _S.queued, _S.in_progress}),
    _S.failed: frozenset({_S.created, _S.queued, _S.in_progress}),
    _S.completed: frozenset({_S.published, _S.created}),
    _S.published: frozenset(),
}


def can_transition(current: TaskStatus, target: TaskStatus) -> bool:
    """True if a task in ``current`` may move to ``target`` (same status counts as allowed)."""
    return current == target or target in TRANSITIONS[current]


def check_transition(task_id: str, current: TaskStatus, target: TaskStatus) -> None:
    """Raise :class:`InvalidTransitionError` unless ``current -> target`` is in the table."""
    if not can_transition(current, target):
        allowed = tuple(sorted(s.value for s in TRANSITIONS[current]))
        raise InvalidTransitionError(task_id, current.value, target.value, allowed)
