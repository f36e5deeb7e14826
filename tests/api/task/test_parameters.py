"""A task's inputs: parameters, connect, configuration objects, user properties."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from taskmill import Task


@pytest.fixture(autouse=True)
def _home(tm_home: Path) -> None:
    """Every test here gets its own store."""


def test_parameters_keep_types_and_default_section() -> None:
    t = Task.create(project_name="p", task_name="x")
    t.set_parameter("lr", 0.1)
    t.set_parameter("Args/epochs", 3, description="how many")
    assert t.get_parameter("General/lr") == 0.1
    assert t.get_parameter("lr") == 0.1
    assert t.get_parameters() == {"Args/epochs": 3, "General/lr": 0.1}
    t.update_parameters({"Args/batch": 16})
    assert t.get_parameters_as_dict() == {"Args": {"epochs": 3, "batch": 16}, "General": {"lr": 0.1}}
    t.set_parameters({"only": True})
    assert t.get_parameters() == {"General/only": True}
    t.set_parameters({"Args/a": 1}, __update=True)
    assert t.get_parameters() == {"General/only": True, "Args/a": 1}


def test_connect_namespace_and_object() -> None:
    t = Task.create(project_name="p", task_name="x")
    ns = argparse.Namespace(lr=0.1, name="n")
    assert t.connect(ns) is ns

    class Cfg:
        depth = 4
        width = 8

        def method(self) -> None: ...

    t.connect(Cfg(), name="Model")
    assert t.get_parameters() == {"Args/lr": 0.1, "Args/name": "n", "Model/depth": 4, "Model/width": 8}


def test_configuration_objects_from_dicts_and_text() -> None:
    t = Task.create(project_name="p", task_name="x")
    assert t.connect_configuration({"layers": [4, 8]}, name="model") == {"layers": [4, 8]}
    t.set_configuration_object("notes", config_text="free text", description="why")
    assert t.get_configuration_object_as_dict("model") == {"layers": [4, 8]}
    assert t.get_configuration_object("notes") == "free text"
    assert t.get_configuration_object("missing") is None
    assert set(t.get_configuration_objects()) == {"model", "notes"}


def test_user_properties() -> None:
    t = Task.create(project_name="p", task_name="x")
    t.set_user_properties(version="1.0.0")
    assert t.get_user_properties() == {"version": "1.0.0"}
