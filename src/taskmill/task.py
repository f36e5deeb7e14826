"""ClearML's ``clearml.task`` module: ``from taskmill.task import Task`` is ``taskmill.Task``."""

from __future__ import annotations

from taskmill.api.task import Task
from taskmill.core.states import TaskStatus, TaskTypes

__all__ = ["Task", "TaskStatus", "TaskTypes"]
