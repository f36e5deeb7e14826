"""Workers and API keys in the SQL store."""

from __future__ import annotations

import pytest

from taskmill.errors import NotFoundError
from taskmill.store.sql.store import SqlTaskStore
from tests.store.conftest import new_task


def test_registering_again_updates_the_worker_in_place(sql_store: SqlTaskStore) -> None:
    first = sql_store.register_worker("w1", ["default"], {"gpus": 0})
    again = sql_store.register_worker("w1", ["gpu"], {"gpus": 1})
    assert again.registered == first.registered and again.last_seen >= first.last_seen
    assert [(w.id, w.queues, w.info) for w in sql_store.list_workers()] == [("w1", ("gpu",), {"gpus": 1})]


def test_heartbeats_need_a_registration_and_report_task_changes(sql_store: SqlTaskStore) -> None:
    with pytest.raises(NotFoundError, match="must register"):
        sql_store.heartbeat("ghost")
    sql_store.register_worker("w1", ["default"], {})
    before = sql_store.last_event_id()
    sql_store.heartbeat("w1", "t" * 32)
    sql_store.heartbeat("w1", "t" * 32)  # same task: no new event
    events = sql_store.events_since(before)
    assert [(e.kind, e.data) for e in events] == [("worker.changed", {"worker": "w1", "task_id": "t" * 32})]
    sql_store.unregister_worker("w1")
    sql_store.unregister_worker("w1")  # idempotent
    assert sql_store.list_workers() == []


def test_api_keys_store_no_secret_and_revoke_idempotently(sql_store: SqlTaskStore) -> None:
    key_id, secret = sql_store.create_api_key("laptop")
    found = sql_store.find_api_key(secret)
    assert found is not None and (found.id, found.name, found.revoked) == (key_id, "laptop", None)
    assert sql_store.find_api_key(secret[:-1] + ("x" if secret[-1] != "x" else "y")) is None
    assert sql_store.find_api_key("not a key") is None
    sql_store.revoke_api_key(key_id)
    revoked = sql_store.find_api_key(secret)
    assert revoked is not None and revoked.revoked is not None
    sql_store.revoke_api_key(key_id)
    assert sql_store.find_api_key(secret) == revoked  # the first revocation time stays
    with pytest.raises(NotFoundError, match="list-keys"):
        sql_store.revoke_api_key("nope")


def test_the_first_key_is_admin_and_later_ones_users_unless_asked(sql_store: SqlTaskStore) -> None:
    first, _ = sql_store.create_api_key("owner")
    second, secret = sql_store.create_api_key("agents")
    third, _ = sql_store.create_api_key("ops", role="admin")
    roles = {k.id: k.role for k in sql_store.list_api_keys()}
    assert roles == {first: "admin", second: "user", third: "admin"}
    found = sql_store.find_api_key(secret)
    assert found is not None and found.role == "user" and not found.is_admin
    with pytest.raises(ValueError, match=r"'root'.*admin, user"):
        sql_store.create_api_key("x", role="root")


def test_status_changes_record_the_caller(sql_store: SqlTaskStore) -> None:
    task = new_task(sql_store)
    _, secret = sql_store.create_api_key("laptop")
    caller = sql_store.find_api_key(secret)
    assert caller is not None
    sql_store.set_caller(caller)
    sql_store.set_status(task.id, "in_progress")
    sql_store.set_caller(None)
    sql_store.set_status(task.id, "completed")
    changes = [e.data for e in sql_store.events_since(0, task_id=task.id) if e.kind == "task.status"]
    assert [(d["status"], d.get("by")) for d in changes] == [("in_progress", "laptop"), ("completed", None)]
