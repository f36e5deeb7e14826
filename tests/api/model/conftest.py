"""Helpers for the model tests: weight files and trained models on a fresh store per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from taskmill import OutputModel, Task


@pytest.fixture(autouse=True)
def _home(tm_home: Path) -> None:
    """Every test here gets its own store."""


def weight_file(folder: Path, name: str = "w.bin", data: bytes = b"\x00weights\xff") -> Path:
    """A weights file ``folder/name`` holding ``data``."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def trained(project: str, name: str, folder: Path, tags: tuple[str, ...] = ()) -> OutputModel:
    """A model with weights, of a new task in ``project``."""
    model = OutputModel(task=Task.create(project_name=project, task_name="train"), name=name, tags=tags)
    model.update_weights(weight_file(folder / model.id))
    return model
