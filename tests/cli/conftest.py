"""Fixtures for CLI tests: a real SQLite store in tmp_path, populated through the store API."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from taskmill.cli.main import app
from taskmill.core.model import (
    ArtifactRecord,
    ConfigObject,
    LogLine,
    ModelRecord,
    Param,
    ScalarPoint,
    ScriptInfo,
    TaskRecord,
    new_id,
)
from taskmill.core.states import TaskStatus, TaskTypes
from taskmill.store.base import TaskStore
from taskmill.store.factory import open_store


@dataclass(frozen=True)
class World:
    """Ids of the tasks the ``world`` fixture creates."""

    train: str  # vision, completed, with params, artifacts, scalars, logs, a model
    evaluate: str  # vision/sub, running, child of train
    prep: str  # data, queued in "default"
    ctrl: str  # vision/.pipelines/p (hidden project), aborted
    draft: str  # vision, draft, tags nightly + gpu


@dataclass(frozen=True)
class Cli:
    """Runs the CLI in-process against the test store."""

    url: str
    home: Path

    def env(self) -> dict[str, str]:
        # TASKMILL_HOME keeps a developer's ~/.taskmill/config.toml out of the tests; a wide
        # COLUMNS keeps table cells on one line so assertions can look for whole values.
        return {"TASKMILL_STORE": self.url, "TASKMILL_HOME": str(self.home), "COLUMNS": "200"}

    def __call__(self, *args: str) -> Result:
        return CliRunner().invoke(app, list(args), env=self.env())


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    # str(tmp_path) starts with "/", so this is the four-slash absolute form sqlite:////...
    return "sqlite:///" + str(tmp_path / "store.db")


@pytest.fixture
def store(store_url: str) -> Iterator[TaskStore]:
    s = open_store(store_url)
    yield s
    s.close()


@pytest.fixture
def cli(store_url: str, tmp_path: Path) -> Cli:
    return Cli(store_url, tmp_path / "home")


@pytest.fixture
def world(store: TaskStore) -> World:
    s = store
    train = s.create_task(
        TaskRecord(
            id=new_id(),
            name="train resnet",
            project="vision",
            tags=("nightly",),
            script=ScriptInfo(
                entry_point="train.py",
                repository="git@example.com:acme/vision.git",
                branch="main",
                commit="0123456789abcdef",
                diff="--- a/train.py\n+++ b/train.py\n@@ -1 +1 @@\n",
            ),
        )
    )
    s.set_status(train.id, TaskStatus.in_progress)
    s.set_params(
        train.id,
        [
            Param("Args", "lr", 0.001, "float"),
            Param("Args", "epochs", 10),
            Param("General", "optimizer", "adam"),
        ],
    )
    s.set_config(train.id, ConfigObject("model_config", '{"depth": 50}'))
    s.put_artifact(
        ArtifactRecord(
            train.id,
            "weights",
            "file:///data/weights.pt",
            type="file",
            size=3 * 1024 * 1024,
            hash="sha256:" + "ab" * 32,
        )
    )
    s.add_scalars(train.id, [ScalarPoint("loss", "train", i, 1.0 / (i + 1)) for i in range(4)])
    s.add_model(ModelRecord(train.id, new_id(), "resnet50", "file:///data/model.pt", framework="pytorch"))
    s.append_log(train.id, [LogLine(f"epoch {i}") for i in range(1, 6)])
    s.set_status(train.id, TaskStatus.completed, message="all epochs done")

    evaluate = s.create_task(TaskRecord(id=new_id(), name="evaluate", project="vision/sub", parent=train.id))
    s.set_status(evaluate.id, TaskStatus.in_progress)

    prep = s.create_task(
        TaskRecord(id=new_id(), name="prep data", project="data", task_type=TaskTypes.data_processing)
    )
    s.create_queue("default")
    s.enqueue(prep.id, "default")

    ctrl = s.create_task(
        TaskRecord(
            id=new_id(), name="pipeline ctrl", project="vision/.pipelines/p", task_type=TaskTypes.controller
        )
    )
    s.set_status(ctrl.id, TaskStatus.stopped, reason="stopped by user")

    draft = s.create_task(
        TaskRecord(id=new_id(), name="draft sweep", project="vision", tags=("nightly", "gpu"))
    )
    return World(train.id, evaluate.id, prep.id, ctrl.id, draft.id)
