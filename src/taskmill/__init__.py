"""taskmill: self-hostable, Python-native ML pipelines that speak the ClearML Pipelines API.

Change ``from clearml import Task`` to ``from taskmill import Task`` and the same code runs.
"""

from __future__ import annotations

from taskmill.api.logger import Logger
from taskmill.api.storage_manager import StorageManager
from taskmill.api.task import Task
from taskmill.core.states import TaskStatus, TaskTypes
from taskmill.errors import TaskmillError

__version__ = "0.1.0"

__all__ = ["Logger", "StorageManager", "Task", "TaskStatus", "TaskTypes", "TaskmillError", "__version__"]
