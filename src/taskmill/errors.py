"""The taskmill exception hierarchy: one root, one family per layer.

Every error taskmill raises on purpose derives from :class:`TaskmillError`, so callers can catch
everything of ours in one clause. Each family says which layer raises it. Messages name the thing
that went wrong and how to fix it. ``ValueError``/``TypeError`` are reserved for bad arguments.
"""

from __future__ import annotations


class TaskmillError(Exception):
    """Root of every error taskmill raises on purpose."""


# -- core (pure model) --------------------------------------------------------------------------


class ModelError(TaskmillError):
    """Raised by the pure model (``taskmill.core``) for values that break its rules."""


class InvalidTransitionError(ModelError):
    """Raised when a task status change is not in the transition table (e.g. completed -> queued)."""

    def __init__(self, task_id: str, current: str, target: str, allowed: tuple[str, ...]) -> None:
        self.task_id = task_id
        self.current = current
        self.target = target
        self.allowed = allowed
        allowed_txt = ", ".join(allowed) if allowed else "none (final status)"
        super().__init__(
            f"task {task_id}: cannot go from status '{current}' to '{target}'; "
            f"allowed from '{current}': {allowed_txt}. Reset or clone the task to run it again."
        )


class SpecError(ModelError, ValueError):
    """Raised when a pipeline definition is invalid (bad names, references, cycles, signatures).

    Also a ``ValueError``, which is what ClearML raises for the same mistakes.
    """


class CycleError(SpecError):
    """Raised when pipeline steps depend on each other in a loop; the message prints the cycle."""


class ReferenceError_(SpecError):
    """Raised for an unknown or malformed ``${...}`` reference."""


# -- store --------------------------------------------------------------------------------------


class StoreError(TaskmillError):
    """Raised by task stores (``taskmill.store``) for storage failures."""


class NotFoundError(StoreError):
    """Raised when a task, queue, project or artifact record does not exist."""


class TaskNotFoundError(NotFoundError):
    """Raised when no task has the given id (or project and name)."""

    def __init__(self, task_id: str, hint: str = "") -> None:
        self.task_id = task_id
        super().__init__(
            f"no task with id '{task_id}' in the store"
            + (f" ({hint})" if hint else "")
            + "; list tasks with `taskmill tasks list`"
        )


class QueueNotFoundError(NotFoundError):
    """Raised when a queue name is unknown."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(
            f"no queue named '{name}'; create it with `taskmill queues create {name}` "
            "or list queues with `taskmill queues list`"
        )


class ConflictError(StoreError):
    """Raised when a write conflicts with the stored state (duplicate name, task already queued)."""


class StoreSchemaError(StoreError):
    """Raised when a store's schema is newer than this taskmill, or cannot be migrated."""


class StoreUnreadableError(StoreError):
    """Raised when a store location exists but is not a taskmill store (never silently recreated)."""


class InvalidValueError(StoreError, ValueError):
    """Raised when the database refuses a value (too long for its column, out of range); nothing
    was written. Also a ``ValueError``: the caller passed something the store cannot hold."""


class StoreConnectionError(StoreError):
    """Raised when the store cannot be reached (server down, bad URL)."""


# -- artifacts ----------------------------------------------------------------------------------


class ArtifactError(TaskmillError):
    """Raised by ``taskmill.artifacts`` when storing or loading artifact bytes fails."""


class ArtifactMissingError(ArtifactError):
    """Raised when an artifact's record exists but its bytes are gone."""

    def __init__(self, task_id: str, name: str, uri: str) -> None:
        self.task_id = task_id
        self.name = name
        self.uri = uri
        super().__init__(
            f"artifact '{name}' of task {task_id}: its bytes are gone from {uri}; "
            "re-run the task that produced it (or restore the file) to get it back"
        )


class SerializationError(ArtifactError):
    """Raised when an object cannot be serialized or deserialized."""


# -- execution ----------------------------------------------------------------------------------


class ExecutionError(TaskmillError):
    """Raised by the engine while running tasks and pipelines."""


class StepFailedError(ExecutionError):
    """Raised when a pipeline step failed and its value is needed."""


class StepTimeoutError(ExecutionError):
    """Raised when a step ran past its time limit."""


# -- configuration ------------------------------------------------------------------------------


class ConfigError(TaskmillError):
    """Raised when settings (environment, config file) are malformed."""


class ShutdownRequested(BaseException):
    # BaseException on purpose: a shutdown signal must not be swallowed by `except Exception`.
    """Raised inside a worker to stop it promptly (agent abort, Ctrl-C forwarding)."""
