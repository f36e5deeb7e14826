"""The SQL store's base: opening, transactions that carry their events, shared row helpers."""

from __future__ import annotations

from pathlib import Path

import pytest

from taskmill.core.model import LogLine, ScriptInfo
from taskmill.core.states import TaskStatus, TaskTypes
from taskmill.errors import StoreError, TaskNotFoundError
from taskmill.store.sql.connection import dumps
from taskmill.store.sql.store import SqlTaskStore
from tests.store.conftest import new_task


def test_dumps_is_compact_and_total() -> None:
    assert dumps({"a": [1, 2], "b": None}) == '{"a":[1,2],"b":null}'
    assert dumps({"p": Path("/x")}) == '{"p":"/x"}'  # unknown types as their str


def test_a_task_row_reads_back_every_field(sql_store: SqlTaskStore) -> None:
    script = ScriptInfo(entry_point="run.py", repository="r", commit="c", diff="d")
    made = new_task(
        sql_store,
        "n",
        "a/b",
        task_type=TaskTypes.testing,
        tags=("t",),
        system_tags=("s",),
        comment="c",
        user="u",
        script=script,
        runtime={"k": [1]},
        output_uri="/out",
        cache_key="key",
    )
    assert sql_store.get_task(made.id) == made


def test_a_failed_batch_leaves_neither_changes_nor_events(sql_store: SqlTaskStore) -> None:
    task = new_task(sql_store)
    before = sql_store.last_event_id()
    with pytest.raises(RuntimeError), sql_store.batch():
        sql_store.set_status(task.id, TaskStatus.in_progress)
        sql_store.append_log(task.id, [LogLine("x")])
        raise RuntimeError("abort")
    assert sql_store.last_event_id() == before
    assert sql_store.get_task(task.id).status == TaskStatus.created
    assert sql_store.get_log(task.id) == []


def test_nested_batches_commit_once_with_the_outer_one(sql_store: SqlTaskStore) -> None:
    task = new_task(sql_store)
    with pytest.raises(RuntimeError), sql_store.batch():
        with sql_store.batch():
            sql_store.update_task(task.id, name="inner")
        raise RuntimeError("outer fails")
    assert sql_store.get_task(task.id).name == "t"


def test_writes_to_a_missing_task_name_it(sql_store: SqlTaskStore) -> None:
    with pytest.raises(TaskNotFoundError, match="feedbeef"):
        sql_store.add_scalars("feedbeef", [])


def test_close_is_idempotent_and_final(sql_url: str) -> None:
    store = SqlTaskStore(sql_url)
    assert store.dialect in ("sqlite", "postgresql")
    store.close()
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.list_queues()
