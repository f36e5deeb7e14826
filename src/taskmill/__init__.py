"""taskmill: self-hostable, Python-native ML pipelines that speak the ClearML Pipelines API.

Change ``from clearml import Task`` to ``from taskmill import Task`` and the same code runs.

The API names below are imported on first use (PEP 562 ``__getattr__``), so importing a lower
layer (``taskmill.store``, ``taskmill.artifacts``, ``taskmill.core``) does not load the authoring
API, and ``from taskmill import Task`` loads only what ``Task`` needs (no pipelines, models or
datasets until they are asked for).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from taskmill._version import __version__
from taskmill.core.states import TaskStatus, TaskTypes
from taskmill.errors import TaskmillError

if TYPE_CHECKING:
    from taskmill.api.dataset import Dataset
    from taskmill.api.logger import Logger
    from taskmill.api.model import InputModel, Model, OutputModel
    from taskmill.api.pipeline import PipelineController, PipelineDecorator
    from taskmill.api.storage_manager import StorageManager
    from taskmill.api.task import Task

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
    # Each branch imports the one module that defines the name; Python caches the module, so a
    # repeated lookup costs a dict hit.
    if name == "Task":
        from taskmill.api.task import Task

        return Task
    if name == "Logger":
        from taskmill.api.logger import Logger

        return Logger
    if name == "StorageManager":
        from taskmill.api.storage_manager import StorageManager

        return StorageManager
    if name in ("PipelineController", "PipelineDecorator"):
        from taskmill.api import pipeline

        return getattr(pipeline, name)
    if name in ("InputModel", "Model", "OutputModel"):
        from taskmill.api import model

        return getattr(model, name)
    if name == "Dataset":
        from taskmill.api.dataset import Dataset

        return Dataset
    raise AttributeError(f"module 'taskmill' has no attribute '{name}'")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
