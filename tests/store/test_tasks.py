"""Task rows in the SQL store: updates, finding, status bookkeeping, deletion."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from taskmill.core.model import ArtifactRecord, LogLine, Param
from taskmill.core.states import TaskStatus, TaskTypes
from taskmill.errors import ConflictError, InvalidTransitionError, TaskNotFoundError
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


def test_a_limited_tag_query_reads_past_near_misses(sql_store: SqlTaskStore) -> None:
    """The SQL pre-filter lets through tags that only contain the wanted one quoted; with a
    limit the query still fills it with exact matches, newest first."""
    real = [new_task(sql_store, f"real{i}", tags=("x",)) for i in range(2)]
    for i in range(70):  # newer, and each matches the pre-filter: its tag contains '"x"'
        new_task(sql_store, f"near{i}", tags=('a","x',))
    new_task(sql_store, "system", system_tags=("x",))  # in the other column: never a match
    found = sql_store.find_tasks(TaskFilter(tags=("x",), limit=2))
    assert [t.id for t in found] == [real[1].id, real[0].id]
    assert [t.name for t in sql_store.find_tasks(TaskFilter(system_tags=("x",), limit=5))] == ["system"]


def test_a_limit_is_applied_in_the_order_asked(sql_store: SqlTaskStore) -> None:
    made = [new_task(sql_store, f"t{i}") for i in range(5)]
    newest = sql_store.find_tasks(TaskFilter(limit=2, order="-created"))
    assert [t.id for t in newest] == [made[4].id, made[3].id]
    assert [t.id for t in sql_store.find_tasks(TaskFilter(limit=2, order="created"))] == [
        made[0].id,
        made[1].id,
    ]
    assert sql_store.find_tasks(TaskFilter(limit=0)) == []


@pytest.mark.parametrize(
    ("flt", "index", "sorted_in_order"),
    [
        (TaskFilter(limit=100), "ix_tasks_last_update_id", True),
        (TaskFilter(limit=100, order="-created"), "ix_tasks_created_id", True),
        (TaskFilter(name="n", limit=1), "ix_tasks_name", False),
        (TaskFilter(project="p", name="n", limit=20), "ix_tasks_project_name_status", False),
        (
            TaskFilter(project="p", name="n", status=(TaskStatus.completed,), limit=20),
            "ix_tasks_project_name_status",
            False,
        ),
        (
            TaskFilter(project="p/.pipelines/x", task_type=(TaskTypes.controller,)),
            "ix_tasks_project_type",
            False,
        ),
    ],
)
def test_hot_task_queries_read_an_index_not_the_table(
    tmp_path: Path, flt: TaskFilter, index: str, sorted_in_order: bool
) -> None:
    """What run start and the task list ask for is bounded: an index finds the rows (for the
    listings, already in order: no sort of every task), so the cost does not grow with the
    store's history."""
    store = SqlTaskStore(f"sqlite:///{tmp_path}/s.db")
    plans: list[str] = []
    real = store._db.execute

    def explain(sql: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]:
        if sql.startswith("SELECT"):
            plans.extend(str(r[-1]) for r in real("EXPLAIN QUERY PLAN " + sql, params))
        return real(sql, params)

    store._db.execute = explain  # type: ignore[method-assign]
    store.find_tasks(flt)
    store.close()
    assert any(index in p for p in plans), plans
    assert not any(p.startswith("SCAN tasks") and "INDEX" not in p for p in plans), plans
    if sorted_in_order:
        assert not any("TEMP B-TREE" in p for p in plans), plans


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


def test_compare_and_set_writes_what_it_returns_and_records_the_change(sql_store: SqlTaskStore) -> None:
    task = new_task(sql_store)
    sql_store.enqueue(task.id, "default")
    after = sql_store.last_event_id()
    running = sql_store.set_status(task.id, TaskStatus.in_progress, worker="w1", expected=[TaskStatus.queued])
    assert sql_store.get_task(task.id) == running  # the row the single UPDATE returned is the row
    assert (running.status, running.worker, running.completed) == (TaskStatus.in_progress, "w1", None)
    assert running.started is not None and running.queue == "default"
    assert sql_store.queue_entries("default") == []  # leaving queued leaves the queue too
    events = [(e.kind, e.data["previous"], e.data["status"]) for e in sql_store.events_since(after)]
    assert events == [("task.status", "queued", "in_progress")]
    done = sql_store.set_status(task.id, TaskStatus.completed, expected=[TaskStatus.in_progress])
    assert done.completed is not None and sql_store.get_task(task.id) == done


def test_a_lost_compare_and_set_changes_nothing_in_or_out_of_a_transaction(sql_store: SqlTaskStore) -> None:
    task = new_task(sql_store)
    sql_store.set_status(task.id, TaskStatus.in_progress)
    before = sql_store.get_task(task.id)
    after = sql_store.last_event_id()
    with pytest.raises(ConflictError, match="is 'in_progress', expected one of \\['created'\\]"):
        sql_store.set_status(task.id, TaskStatus.in_progress, expected=[TaskStatus.created])
    with sql_store.batch(), pytest.raises(ConflictError, match="expected one of \\['created'\\]"):
        sql_store.set_status(task.id, TaskStatus.failed, expected=[TaskStatus.created])
    assert sql_store.get_task(task.id) == before and sql_store.events_since(after) == []
    with pytest.raises(TaskNotFoundError):
        sql_store.set_status("feedbeef", TaskStatus.in_progress, expected=[TaskStatus.created])
    with sql_store.batch(), pytest.raises(TaskNotFoundError):
        sql_store.set_status("feedbeef", TaskStatus.in_progress, expected=[TaskStatus.created])


def test_compare_and_set_still_checks_the_transition(sql_store: SqlTaskStore) -> None:
    task = new_task(sql_store)
    sql_store.set_status(task.id, TaskStatus.in_progress)
    sql_store.set_status(task.id, TaskStatus.completed)
    with pytest.raises(InvalidTransitionError):
        sql_store.set_status(task.id, TaskStatus.in_progress, expected=[TaskStatus.completed])
    forced = sql_store.set_status(task.id, TaskStatus.failed, force=True, expected=[TaskStatus.completed])
    assert sql_store.get_task(task.id) == forced and forced.status == TaskStatus.failed
