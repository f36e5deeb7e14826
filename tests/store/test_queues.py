"""Queues in the SQL store: deleting a queue with work in it, claims that record who and where."""

from __future__ import annotations

import pytest

from taskmill.core.states import TaskStatus
from taskmill.core.stored import STANDARD_QUEUES
from taskmill.errors import ConflictError, QueueNotFoundError
from taskmill.store.sql.store import SqlTaskStore
from tests.store.conftest import new_task


def test_create_queue_is_idempotent_and_refuses_blank_names(sql_store: SqlTaskStore) -> None:
    first = sql_store.create_queue("gpu")
    assert sql_store.create_queue("gpu") == first
    with pytest.raises(ValueError, match="empty"):
        sql_store.create_queue("  ")


def test_force_deleting_a_queue_sends_its_tasks_back_to_draft(sql_store: SqlTaskStore) -> None:
    sql_store.create_queue("q")
    task = new_task(sql_store)
    sql_store.enqueue(task.id, "q")
    with pytest.raises(ConflictError, match="still holds 1 task"):
        sql_store.delete_queue("q")
    sql_store.delete_queue("q", force=True)
    back = sql_store.get_task(task.id)
    assert (back.status, back.status_message, back.queue) == (TaskStatus.created, "queue deleted", "")
    with pytest.raises(QueueNotFoundError):
        sql_store.get_queue("q")


def test_a_claim_records_the_worker_and_the_queue(sql_store: SqlTaskStore) -> None:
    sql_store.create_queue("low")
    sql_store.create_queue("high")
    task = new_task(sql_store)
    sql_store.enqueue(task.id, "low", priority=3)
    assert sql_store.get_queue("low").depth == 1
    claimed = sql_store.claim(["high", "low"], "w1")
    assert claimed is not None
    assert (claimed.status, claimed.worker, claimed.queue) == (TaskStatus.in_progress, "w1", "low")
    assert claimed.status_message == "claimed by w1"
    assert sql_store.queue_entries("low") == [] and sql_store.claim(["high", "low"], "w1") is None


def test_dequeue_needs_a_queued_task(sql_store: SqlTaskStore) -> None:
    sql_store.create_queue("q")
    task = new_task(sql_store)
    with pytest.raises(ConflictError, match="not queued"):
        sql_store.dequeue(task.id)
    sql_store.enqueue(task.id, "q")
    with pytest.raises(ConflictError, match="already queued in 'q'"):
        sql_store.enqueue(task.id, "q")
    assert sql_store.dequeue(task.id).status == TaskStatus.created


def test_standard_queues_are_made_once_and_a_deleted_one_stays_deleted(sql_url: str) -> None:
    first = SqlTaskStore(sql_url)
    second = SqlTaskStore(sql_url)  # opening again (already migrated) adds nothing
    assert [q.name for q in second.list_queues()] == list(STANDARD_QUEUES)
    first.delete_queue("services")
    first.close()
    second.close()
    reopened = SqlTaskStore(sql_url)
    assert [q.name for q in reopened.list_queues()] == ["default"]  # an admin's deletion is kept
    reopened.close()
