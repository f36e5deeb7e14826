"""The assembled SQL store: one class over every concern, at its public import path."""

from __future__ import annotations

import inspect

from taskmill.store.base import TaskStore
from taskmill.store.factory import open_store
from taskmill.store.sql.connection import SqlStoreBase
from taskmill.store.sql.store import SqlTaskStore


def test_the_store_implements_the_whole_contract() -> None:
    assert not inspect.isabstract(SqlTaskStore)
    assert issubclass(SqlTaskStore, SqlStoreBase) and issubclass(SqlTaskStore, TaskStore)


def test_open_store_gives_the_sql_store_for_database_urls(sql_url: str) -> None:
    store = open_store(sql_url)
    try:
        assert isinstance(store, SqlTaskStore) and store.url == sql_url  # with leases (store.lease)
    finally:
        store.close()
