"""Fixtures of the SQL store's module tests: a fresh SQL store on SQLite and on PostgreSQL.

The contract suite (``test_contract.py``) runs the same behaviour over every backend, HTTP
included; these fixtures serve the tests of one SQL module each, which need only the two
databases.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from taskmill.core.model import TaskRecord, new_id
from taskmill.store.sql.store import SqlTaskStore


@pytest.fixture(params=["sqlite", "postgres"])
def sql_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a new, empty SQL store."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/store.db"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def sql_store(sql_url: str) -> Iterator[SqlTaskStore]:
    """An open SQL store, closed after the test."""
    store = SqlTaskStore(sql_url)
    yield store
    store.close()


def new_task(store: SqlTaskStore, name: str = "t", project: str = "proj", **fields: object) -> TaskRecord:
    """Create and return a task with a fresh id."""
    return store.create_task(TaskRecord(id=new_id(), name=name, project=project, **fields))  # type: ignore[arg-type]
