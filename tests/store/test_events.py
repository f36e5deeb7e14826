"""Reading the SQL store's event feed: filters, waiting, and the listener's life."""

from __future__ import annotations

import threading
import time

from taskmill.core.states import TaskStatus
from taskmill.store.sql.store import SqlTaskStore
from tests.store.conftest import new_task


def test_events_since_filters_by_task_and_limits(sql_store: SqlTaskStore) -> None:
    a, b = new_task(sql_store), new_task(sql_store)
    sql_store.set_status(a.id, TaskStatus.in_progress)
    only_a = sql_store.events_since(0, task_id=a.id)
    assert [e.kind for e in only_a] == ["task.created", "task.status"]
    assert only_a[1].data == {"status": "in_progress", "previous": "created", "parent": None}
    first = sql_store.events_since(0, limit=1)
    assert [e.task_id for e in first] == [a.id]
    assert sql_store.events_since(sql_store.last_event_id()) == []
    assert b.id in {e.task_id for e in sql_store.events_since(0)}


def test_wait_events_times_out_empty(sql_store: SqlTaskStore) -> None:
    start = time.monotonic()
    assert sql_store.wait_events(sql_store.last_event_id(), 0.2) == []
    assert time.monotonic() - start >= 0.2


def test_wait_events_wakes_for_a_write_of_another_store(sql_url: str, sql_store: SqlTaskStore) -> None:
    writer = SqlTaskStore(sql_url)
    after = sql_store.last_event_id()
    timer = threading.Timer(0.2, lambda: writer.create_queue("q"))
    timer.start()
    try:
        start = time.monotonic()
        found = sql_store.wait_events(after, 10.0)
        assert [e.kind for e in found] == ["queue.changed"] and time.monotonic() - start < 5.0
    finally:
        timer.join()
        writer.close()
    sql_store.close()
    sql_store.close()  # closing the listener too is idempotent
