"""Engine fixtures: a real SQLite store and local artifact storage, with no API layer in between."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from taskmill.artifacts.storage import ArtifactStore
from taskmill.core.model import TaskRecord, new_id
from taskmill.core.states import TaskTypes
from taskmill.engine.backend import Backend
from taskmill.store.base import TaskStore
from taskmill.store.factory import open_store


@pytest.fixture
def engine_store(tmp_path: Path) -> Iterator[TaskStore]:
    store = open_store(f"sqlite:///{tmp_path}/store.db")
    yield store
    store.close()


@pytest.fixture
def backend(engine_store: TaskStore, tmp_path: Path) -> Backend:
    artifacts = ArtifactStore(str(tmp_path / "artifacts"), str(tmp_path / "cache"))
    return Backend(store=engine_store, artifacts=artifacts)


def new_task(store: TaskStore, name: str = "t", *, task_type: TaskTypes = TaskTypes.training) -> str:
    """Create a task record in project ``engine`` and return its id."""
    return store.create_task(TaskRecord(id=new_id(), name=name, project="engine", task_type=task_type)).id
