"""taskmill: self-hostable, Python-native ML pipelines that speak the ClearML Pipelines API.

Change ``from clearml import Task`` to ``from taskmill import Task`` and the same code runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from taskmill.api.logger import Logger
from taskmill.api.storage_manager import StorageManager
from taskmill.api.task import Task
from taskmill.core.states import TaskStatus, TaskTypes
from taskmill.errors import TaskmillError

if TYPE_CHECKING:
    from taskmill.api.dataset import Dataset
    from taskmill.api.model import InputModel, Model, OutputModel
    from taskmill.api.pipeline import PipelineController, PipelineDecorator

__version__ = "0.1.0"

__all__ = [
    "Dataset",
    "InputModel",
    "Logger",
    "Model",
    "OutputModel",
    "PipelineController",
    "PipelineDecorator",
    "StorageManager",
    "Task",
    "TaskStatus",
    "TaskTypes",
    "TaskmillError",
    "__version__",
]


def __getattr__(name: str) -> Any:
    # Pipelines are imported on first use: a plain `Task.init` script does not pay for them.
    if name in ("PipelineController", "PipelineDecorator"):
        from taskmill.api import pipeline

        return getattr(pipeline, name)
    if name in ("InputModel", "Model", "OutputModel"):  # on first use too, like pipelines
        from taskmill.api import model

        return getattr(model, name)
    if name == "Dataset":  # on first use too: clearml-data code only
        from taskmill.api.dataset import Dataset

        return Dataset
    raise AttributeError(f"module 'taskmill' has no attribute '{name}'")
