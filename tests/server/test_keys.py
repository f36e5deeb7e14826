"""Key roles over HTTP: only admin keys manage keys; user keys run everything else (agents)."""

from __future__ import annotations

import httpx

from taskmill.core.model import TaskRecord, new_id
from taskmill.core.states import TaskStatus
from taskmill.store.http import HttpTaskStore, StoreAuthError
from tests.server.harness import Served


def _client(server: Served, secret: str) -> httpx.Client:
    return httpx.Client(base_url=server.url + "/api/v1", headers={"Authorization": f"Bearer {secret}"})


def test_only_admin_keys_mint_list_and_revoke_keys(server: Served) -> None:
    admin_id, admin = server.store.create_api_key("owner")  # the first key: admin
    user_id, user = server.store.create_api_key("agents")
    with _client(server, user) as c:
        for method, path, body in (
            ("GET", "/keys", None),
            ("POST", "/keys", {"name": "sneaky", "role": "admin"}),
            ("DELETE", f"/keys/{admin_id}", None),
            ("POST", "/batch", {"ops": [{"op": "create_api_key", "args": {"name": "via batch"}}]}),
        ):
            r = c.request(method, path, json=body)
            assert r.status_code == 403, (method, path, r.text)
            assert "admin" in r.json()["detail"]
        assert c.get("/queues").status_code == 200  # everything else works
    assert {k.id for k in server.store.list_api_keys()} == {admin_id, user_id}
    assert not server.store.list_api_keys()[0].is_revoked
    with _client(server, admin) as c:
        made = c.post("/keys", json={"name": "ci", "role": "admin"})
        assert made.status_code == 201, made.text
        listed = {k["name"]: k["role"] for k in c.get("/keys").json()}
        assert listed == {"owner": "admin", "agents": "user", "ci": "admin"}
        assert c.delete(f"/keys/{user_id}").status_code == 204


def test_the_http_store_refuses_key_admin_on_a_user_key(server: Served) -> None:
    server.store.create_api_key("owner")
    _, user = server.store.create_api_key("agents")
    remote = HttpTaskStore(server.url, user)
    try:
        remote.create_api_key("x")
    except StoreAuthError as exc:
        assert exc.status == 403
    else:
        raise AssertionError("a user key created a key")
    finally:
        remote.close()


def test_a_user_key_runs_an_agent_and_status_changes_name_it(server: Served) -> None:
    server.store.create_api_key("owner")
    _, user = server.store.create_api_key("gpu-agent")
    remote = HttpTaskStore(server.url, user)
    task = remote.create_task(TaskRecord(id=new_id(), name="t", project="p"))
    remote.enqueue(task.id, "default")
    remote.register_worker("w1", ["default"], {})
    claimed = remote.claim(["default"], "w1")
    assert claimed is not None and claimed.id == task.id
    remote.set_status(task.id, TaskStatus.completed)
    remote.close()
    changes = [e.data for e in server.store.events_since(0, task_id=task.id) if e.kind == "task.status"]
    assert [(d["status"], d.get("by")) for d in changes] == [
        ("queued", "gpu-agent"),
        ("in_progress", "gpu-agent"),
        ("completed", "gpu-agent"),
    ]
