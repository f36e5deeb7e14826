"""Task rows in the SQL store: updates, finding, status bookkeeping, deletion."""

from __future__ import annotations

import pytest

from taskmill.core.model import ArtifactRecord, LogLine, Param
from taskmill.core.states import TaskStatus
from taskmill.errors import TaskNotFoundError
from taskmill.store.base import TaskFilter
from taskmill.store.sql.store import SqlTaskStore
from tests.store.conftest import new_task


def test_update_task_names_the_settable_fields(sql_store: SqlTaskStore) -> None:
    task = new_task(sql_store)
    with pytest.raises(ValueError, match=r"\['worker'\].*settable fields.*cache_key"):
        sql_store.update_task(task.id, worker="w")
    with pytest.raises(TaskNotFoundError):
        sql_store.update_task("feedbeef", name="x")


def test_update_task_moves_the_task_into_a_new_project(sql_store: SqlTaskStore) -> None:
    task = new_task(sql_store, project="a")
    sql_store.update_task(task.id, project="b/c")
    counts = {p.name: p.task_count for p in sql_store.list_projects()}
    assert counts == {"a": 0, "b": 0, "b/c": 1}


def test_tags_match_exactly_not_as_substrings(sql_store: SqlTaskStore) -> None:
    short = new_task(sql_store, tags=("gp",))
    new_task(sql_store, tags=("gpu",))
    assert [t.id for t in sql_store.find_tasks(TaskFilter(tags=("gp",)))] == [short.id]


def test_name_contains_ignores_case(sql_store: SqlTaskStore) -> None:
    new_task(sql_store, "Train Model")
    new_task(sql_store, "evaluate")
    assert [t.name for t in sql_store.find_tasks(TaskFilter(name_contains="n mo"))] == ["Train Model"]


def test_find_tasks_refuses_unknown_orders(sql_store: SqlTaskStore) -> None:
    with pytest.raises(ValueError, match="cannot order tasks by 'id; DROP'"):
        sql_store.find_tasks(TaskFilter(order="id; DROP"))


def test_status_changes_keep_times_and_clear_messages(sql_store: SqlTaskStore) -> None:
    task = new_task(sql_store)
    running = sql_store.set_status(task.id, TaskStatus.in_progress, message="go", worker="w1")
    assert (running.status_message, running.worker, running.completed) == ("go", "w1", None)
    stopped = sql_store.set_status(task.id, TaskStatus.stopped, reason="user")
    assert stopped.completed is not None and stopped.status_message == "" and stopped.status_reason == "user"
    assert sql_store.get_task(task.id) == stopped  # what set_status returns is what was written


def test_delete_task_removes_its_rows_and_nothing_else(sql_store: SqlTaskStore) -> None:
    gone, kept = new_task(sql_store), new_task(sql_store)
    for task in (gone, kept):
        sql_store.set_params(task.id, [Param("Args", "x", 1)])
        sql_store.put_artifact(ArtifactRecord(task.id, "a", "/a", "json", "json", 1, "sha256:0"))
        sql_store.append_log(task.id, [LogLine("hi")])
    sql_store.delete_task(gone.id)
    with pytest.raises(TaskNotFoundError):
        sql_store.get_artifacts(gone.id) or sql_store.get_task(gone.id)
    assert sql_store.get_log(gone.id) == []
    assert [p.name for p in sql_store.get_params(kept.id)] == ["x"]
    assert [ln.text for ln in sql_store.get_log(kept.id)] == ["hi"]
