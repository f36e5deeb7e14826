"""Fixtures for the runs layer: a real SQLite store, written to directly (no authoring API)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from taskmill.store.base import TaskStore
from taskmill.store.factory import open_store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[TaskStore]:
    """A fresh SQLite store in ``tmp_path``, closed after the test."""
    s = open_store(f"sqlite:///{tmp_path}/runs.db")
    yield s
    s.close()
