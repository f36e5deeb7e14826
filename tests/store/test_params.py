"""Parameters and configuration objects in the SQL store: upserts keep order and descriptions."""

from __future__ import annotations

import pytest

from taskmill.core.model import ConfigObject, Param
from taskmill.errors import TaskNotFoundError
from taskmill.store.sql.store import SqlTaskStore
from tests.store.conftest import new_task


def test_upserts_keep_the_first_position_and_a_known_description(sql_store: SqlTaskStore) -> None:
    task = new_task(sql_store)
    sql_store.set_params(task.id, [Param("Args", "b", 1, "int", "batch"), Param("Args", "a", "x")])
    sql_store.set_params(task.id, [Param("Args", "b", 2, "int", "")])
    assert sql_store.get_params(task.id) == [Param("Args", "b", 2, "int", "batch"), Param("Args", "a", "x")]


def test_replace_starts_over_and_delete_removes_named_keys(sql_store: SqlTaskStore) -> None:
    task = new_task(sql_store)
    sql_store.set_params(task.id, [Param("A", "x", 1), Param("B", "y", 2)])
    sql_store.set_params(task.id, [Param("C", "z", [3])], replace=True)
    assert [(p.section, p.name, p.value) for p in sql_store.get_params(task.id)] == [("C", "z", [3])]
    sql_store.delete_params(task.id, [("C", "z"), ("C", "missing")])
    assert sql_store.get_params(task.id) == []


def test_params_of_a_missing_task_are_refused(sql_store: SqlTaskStore) -> None:
    with pytest.raises(TaskNotFoundError):
        sql_store.set_params("feedbeef", [Param("A", "x", 1)])
    with pytest.raises(TaskNotFoundError):
        sql_store.get_configs("feedbeef")


def test_configs_upsert_by_name(sql_store: SqlTaskStore) -> None:
    task = new_task(sql_store)
    sql_store.set_config(task.id, ConfigObject("b", "1", "yaml"))
    sql_store.set_config(task.id, ConfigObject("a", "{}", "json", "first"))
    sql_store.set_config(task.id, ConfigObject("b", "2", "yaml", "again"))
    assert sql_store.get_configs(task.id) == [
        ConfigObject("a", "{}", "json", "first"),
        ConfigObject("b", "2", "yaml", "again"),
    ]
