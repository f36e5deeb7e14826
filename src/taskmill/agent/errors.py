"""Errors raised by the agent."""

from __future__ import annotations

from collections.abc import Sequence

from taskmill.errors import ExecutionError


class EnvironmentBuildError(ExecutionError):
    """Raised by the agent when a task's environment cannot be built (checkout, diff, virtualenv).

    ``output`` holds the failing tool's output lines; the agent appends them to the task's log
    and fails the task with ``str(error)`` as its status message.
    """

    def __init__(self, message: str, output: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.output = tuple(output)
