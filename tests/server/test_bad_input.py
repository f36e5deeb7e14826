"""Bad requests get clear 4xx answers (never a 5xx) and change nothing."""

from __future__ import annotations

import httpx
import pytest

from taskmill.core.model import TaskRecord, new_id
from taskmill.errors import ConflictError, InvalidTransitionError, TaskNotFoundError
from taskmill.store.http import HttpTaskStore
from tests.server.harness import Served


def test_malformed_json_is_422(api: httpx.Client, server: Served) -> None:
    r = api.post("/tasks", content=b'{"name": "x", "project": ', headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["error"] == "ValidationError"
    assert server.store.find_tasks() == []


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/tasks", {"name": 5, "project": ["p"]}),
        ("POST", "/tasks", {"name": "n"}),
        ("POST", "/tasks", {"name": "n", "project": "p", "status": "nonsense"}),
        ("POST", "/tasks", {"name": "n", "project": "p", "progress": 2**70}),
        ("POST", "/queues", {"name": None}),
        ("POST", "/queues/claim", {"queues": "default", "worker": 1}),
        ("POST", "/batch", {"ops": [{"op": "create_queue", "args": {"name": 3}}]}),
        ("POST", "/batch", {"ops": [{"op": "no_such_op", "args": {}}]}),
        ("POST", "/batch", {"ops": [{"op": "get_task", "args": {"task_id": 7}}]}),
        ("POST", "/tasks/query", {"order": "drop table"}),
        ("POST", "/tasks", {"name": "n", "project": "a//b"}),
    ],
)
def test_wrong_types_and_values_are_422(
    api: httpx.Client, server: Served, method: str, path: str, body: object
) -> None:
    queues = server.store.list_queues()  # a new store may come with standard queues
    r = api.request(method, path, json=body)
    assert r.status_code == 422, r.text
    assert r.json()["detail"]
    assert server.store.find_tasks() == [] and server.store.list_queues() == queues


def test_a_nan_scalar_is_stored_as_reported(api: httpx.Client, server: Served) -> None:
    t = server.store.create_task(TaskRecord(id=new_id(), name="t", project="p"))
    body = b'{"points": [{"title": "loss", "series": "s", "iteration": 0, "value": NaN}]}'
    r = api.post(f"/tasks/{t.id}/scalars", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 204, r.text
    (point,) = server.store.get_scalars(t.id)
    assert point.value != point.value  # NaN, as reported (see tests/store/test_contract.py)


def test_oversized_body_is_413(tmp_path: object) -> None:
    from pathlib import Path

    from tests.server.harness import served

    assert isinstance(tmp_path, Path)
    with served(f"sqlite:///{tmp_path}/s.db", tmp_path, max_body_bytes=64 * 1024) as server:
        lines = [{"text": "x" * 1000} for _ in range(200)]
        t = server.store.create_task(TaskRecord(id=new_id(), name="t", project="p"))
        with httpx.Client(base_url=server.url + "/api/v1") as c:
            r = c.post(f"/tasks/{t.id}/log", json={"lines": lines})
            assert r.status_code == 413 and r.json()["error"] == "TooLarge"

            def chunked() -> object:  # no Content-Length: counted as it arrives
                yield b'{"lines": ['
                for i in range(200):
                    yield (b"," if i else b"") + b'{"text": "' + b"y" * 1000 + b'"}'
                yield b"]}"

            r = c.post(f"/tasks/{t.id}/log", content=chunked(), headers={"Content-Type": "application/json"})
            assert r.status_code == 413
        assert server.store.get_log(t.id) == []


def test_unknown_ids_are_404_naming_them(api: httpx.Client) -> None:
    missing = "f" * 32
    for path in (f"/tasks/{missing}", f"/tasks/{missing}/params", f"/tasks/{missing}/configs"):
        r = api.get(path)
        assert r.status_code == 404 and missing in r.json()["detail"], (path, r.text)
        assert r.json()["error"] == "TaskNotFoundError" and r.json()["fields"]["task_id"] == missing
    r = api.get("/queues/nope")
    assert r.status_code == 404 and "nope" in r.json()["detail"] and r.json()["error"] == "QueueNotFoundError"
    r = api.post(f"/tasks/{missing}/status", json={"status": "in_progress"})
    assert r.status_code == 404 and missing in r.json()["detail"]
    r = api.post("/workers/ghost/heartbeat", json={})
    assert r.status_code == 404 and "ghost" in r.json()["detail"]
    r = api.delete("/keys/0123456789abcdef")
    assert r.status_code == 404 and "0123456789abcdef" in r.json()["detail"]
    assert api.get("/no/such/route").status_code == 404
    assert api.put("/queues").status_code == 405


def test_client_gets_the_servers_exceptions(remote: HttpTaskStore) -> None:
    with pytest.raises(TaskNotFoundError, match="no task with id 'abc'") as info:
        remote.get_task("abc")
    assert info.value.task_id == "abc"
    t = remote.create_task(TaskRecord(id=new_id(), name="t", project="p"))
    with pytest.raises(ConflictError, match="already exists"):
        remote.create_task(TaskRecord(id=t.id, name="t", project="p"))
    remote.set_status(t.id, "in_progress")  # type: ignore[arg-type]
    remote.set_status(t.id, "completed")  # type: ignore[arg-type]
    with pytest.raises(InvalidTransitionError) as bad:
        remote.set_status(t.id, "queued")  # type: ignore[arg-type]
    assert (bad.value.current, bad.value.target) == ("completed", "queued")
    assert "published" in bad.value.allowed
    with pytest.raises(ValueError, match="cannot order tasks"):
        from taskmill.store.base import TaskFilter

        remote.find_tasks(TaskFilter(order="bogus"))


NOT_NULLABLE = [
    "name",
    "project",
    "comment",
    "tags",
    "system_tags",
    "script",
    "runtime",
    "output_uri",
    "progress",
    "task_type",
    "user",
    "cache_key",
]


@pytest.mark.parametrize("field", NOT_NULLABLE)
def test_patch_with_null_is_422_naming_the_field_and_changes_nothing(
    api: httpx.Client, server: Served, field: str
) -> None:
    t = server.store.create_task(
        TaskRecord(id=new_id(), name="t", project="p", comment="c", user="u", cache_key="k", tags=("x",))
    )
    r = api.patch(f"/tasks/{t.id}", json={field: None})
    assert r.status_code == 422, r.text
    assert f"body.{field}" in r.json()["detail"]
    assert [e["loc"] for e in r.json()["fields"]["errors"]] == [["body", field]]
    after = server.store.get_task(t.id)
    assert (after.name, after.project, after.comment, after.user, after.cache_key) == (
        "t",
        "p",
        "c",
        "u",
        "k",
    )
    assert after.tags == ("x",) and after.last_update == t.last_update
    # With another, valid field the whole request is refused: nothing half-applied.
    assert api.patch(f"/tasks/{t.id}", json={"comment": "new", field: None}).status_code == 422
    assert server.store.get_task(t.id).comment == "c"


def test_patch_parent_null_detaches_and_omitted_fields_keep_their_values(
    api: httpx.Client, server: Served
) -> None:
    parent = server.store.create_task(TaskRecord(id=new_id(), name="run", project="p"))
    t = server.store.create_task(
        TaskRecord(id=new_id(), name="t", project="p", parent=parent.id, comment="c")
    )
    r = api.patch(f"/tasks/{t.id}", json={"parent": None})
    assert r.status_code == 200, r.text
    after = server.store.get_task(t.id)
    assert after.parent is None and (after.name, after.comment) == ("t", "c")
    assert api.patch(f"/tasks/{t.id}", json={"comment": "new"}).json()["comment"] == "new"
    assert server.store.get_task(t.id).name == "t"


def test_patch_schema_shows_no_nulls_and_no_defaults(server: Served) -> None:
    schema = httpx.get(server.url + "/openapi.json").json()["components"]["schemas"]["TaskUpdate"][
        "properties"
    ]
    for field in NOT_NULLABLE:
        assert "default" not in schema[field] and "null" not in str(schema[field]), (field, schema[field])
    assert "null" in str(schema["parent"])
