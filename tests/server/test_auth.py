"""API keys at the door: 401 without or with a wrong key, 403 with a revoked one, and nothing changes."""

from __future__ import annotations

import httpx
import pytest

from taskmill.core.model import TaskRecord, new_id
from taskmill.core.stored import STANDARD_QUEUES
from taskmill.store.http import HttpTaskStore, StoreAuthError
from tests.server.harness import Served


def _queues(server: Served) -> list[str]:
    return [q.name for q in server.store.list_queues() if q.name not in STANDARD_QUEUES]


def test_health_needs_no_key(server: Served) -> None:
    r = httpx.get(server.url + "/api/v1/health")
    assert r.status_code == 200 and r.json()["status"] == "ok"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer tm_0123456789abcdef_notthesecretnotthesecret"},
        {"Authorization": "Bearer garbage"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"X-Taskmill-Key": "wrong"},
    ],
    ids=["none", "wrong-secret", "malformed", "basic", "wrong-header"],
)
def test_missing_or_wrong_key_is_401_and_changes_nothing(server: Served, headers: dict[str, str]) -> None:
    r = httpx.post(server.url + "/api/v1/queues", json={"name": "sneaky"}, headers=headers)
    assert r.status_code == 401, r.text
    assert r.json()["error"] == "Unauthorized" and r.headers["www-authenticate"] == "Bearer"
    assert _queues(server) == []


def test_both_header_forms_are_accepted(server: Served, key: str) -> None:
    for headers in ({"Authorization": f"Bearer {key}"}, {"X-Taskmill-Key": key}):
        assert httpx.get(server.url + "/api/v1/queues", headers=headers).status_code == 200


def test_revoked_key_is_403_and_changes_nothing(server: Served) -> None:
    key_id, secret = server.store.create_api_key("old laptop")
    headers = {"Authorization": f"Bearer {secret}"}
    assert httpx.post(server.url + "/api/v1/queues", json={"name": "ok"}, headers=headers).status_code == 200
    server.store.revoke_api_key(key_id)
    r = httpx.post(server.url + "/api/v1/queues", json={"name": "after"}, headers=headers)
    assert r.status_code == 403 and key_id in r.json()["detail"] and "revoked" in r.json()["detail"]
    assert _queues(server) == ["ok"]


def test_http_store_reports_refused_keys(server: Served, key: str) -> None:
    bad = HttpTaskStore(server.url, "tm_0123456789abcdef_notthesecretnotthesecret")
    with pytest.raises(StoreAuthError, match="unknown API key") as info:
        bad.create_task(TaskRecord(id=new_id(), name="x", project="p"))
    assert info.value.status == 401
    bad.close()
    assert server.store.find_tasks() == []
    key_id, secret = server.store.create_api_key()
    server.store.revoke_api_key(key_id)
    revoked = HttpTaskStore(server.url, secret)
    with pytest.raises(StoreAuthError, match="revoked") as info:
        revoked.list_queues()
    assert info.value.status == 403
    revoked.close()


def test_keys_can_be_managed_through_the_server(server: Served, key: str) -> None:
    remote = HttpTaskStore(server.url, key)
    new_id_, secret = remote.create_api_key("agent-7")
    assert remote.check_api_key(secret) and not remote.check_api_key(secret + "x")
    assert "agent-7" in [k.name for k in remote.list_api_keys()]
    remote.revoke_api_key(new_id_)
    assert not server.store.check_api_key(secret)
    remote.close()


def test_openapi_declares_the_key_schemes(server: Served, key: str) -> None:
    spec = httpx.get(server.url + "/openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    assert {"HTTPBearer", "APIKeyHeader"} <= set(schemes)
    assert "security" in spec["paths"]["/api/v1/tasks/{task_id}"]["get"]
    assert "security" not in spec["paths"]["/api/v1/health"]["get"]
