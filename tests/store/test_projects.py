"""Projects in the SQL store: ancestors appear with their tasks, system tags accumulate."""

from __future__ import annotations

from taskmill.store.sql.store import SqlTaskStore
from tests.store.conftest import new_task


def test_a_task_creates_its_project_and_ancestors(sql_store: SqlTaskStore) -> None:
    new_task(sql_store, project="a/b/c")
    new_task(sql_store, project="a/b/c")
    assert {p.name: p.task_count for p in sql_store.list_projects()} == {"a": 0, "a/b": 0, "a/b/c": 2}


def test_system_tags_are_added_once_each(sql_store: SqlTaskStore) -> None:
    sql_store.ensure_project("x", ("one",))
    again = sql_store.ensure_project("x", ("one", "two"))
    assert again.system_tags == ("one", "two")
    assert sql_store.ensure_project("x").system_tags == ("one", "two")  # no tags: nothing changes


def test_a_second_store_sees_projects_the_first_created(sql_url: str, sql_store: SqlTaskStore) -> None:
    other = SqlTaskStore(sql_url)
    try:
        new_task(other, project="team/.pipelines/run")
        tagged = sql_store.ensure_project("team/.pipelines/run", ("pipeline",))
        assert tagged.system_tags == ("pipeline",) and tagged.task_count == 1
        assert [p.name for p in sql_store.list_projects()] == ["team"]  # dot-segments are hidden
    finally:
        other.close()
