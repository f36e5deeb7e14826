"""ClearML's module layout: every import path ClearML pipeline code uses gives taskmill's classes,
and ``import taskmill`` imports none of these modules (it stays as fast as before)."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest

import taskmill
from taskmill.api.dataset import Dataset
from taskmill.api.logger import Logger
from taskmill.api.model import InputModel, Model, OutputModel
from taskmill.api.pipeline import PipelineController, PipelineDecorator
from taskmill.api.storage_manager import StorageManager
from taskmill.api.task import Task

#: (module ClearML code imports from, name, the taskmill class it must be)
PATHS = [
    ("automation", "PipelineController", PipelineController),
    ("automation", "PipelineDecorator", PipelineDecorator),
    ("automation.controller", "PipelineController", PipelineController),
    ("automation.controller", "PipelineDecorator", PipelineDecorator),
    ("task", "Task", Task),
    ("storage", "StorageManager", StorageManager),
    ("storage.manager", "StorageManager", StorageManager),
    ("model", "OutputModel", OutputModel),
    ("model", "InputModel", InputModel),
    ("model", "Model", Model),
    ("logger", "Logger", Logger),
    ("datasets", "Dataset", Dataset),
    ("datasets.dataset", "Dataset", Dataset),
]
NEW_MODULES = ("automation", "task", "storage", "model", "logger", "datasets", "utilities")


@pytest.mark.parametrize(("module", "name", "expected"), PATHS)
def test_each_clearml_path_gives_the_same_class(module: str, name: str, expected: type) -> None:
    assert getattr(importlib.import_module(f"taskmill.{module}"), name) is expected


def test_they_are_the_top_level_classes_too() -> None:
    for _, name, cls in PATHS:
        assert getattr(taskmill, name) is cls


def test_import_taskmill_loads_none_of_the_compatibility_modules() -> None:
    code = (
        "import json, sys, taskmill\n"
        f"new = {NEW_MODULES!r}\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'taskmill' and "
        "len(m.split('.')) > 1 and m.split('.')[1] in new)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(result.stdout) == []


def test_clearml_function_step_template_import_works() -> None:
    from taskmill.utilities.proxy_object import get_basic_type  # what ClearML's generated steps import

    assert get_basic_type(3) == "int"
