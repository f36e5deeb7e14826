"""Batches over HTTP: held-back writes go in one transaction, with the next operation that returns a value."""

from __future__ import annotations

import httpx
import pytest

from taskmill.core.model import (
    ArtifactRecord,
    ConfigObject,
    ModelRecord,
    Param,
    PlotRecord,
    ScalarPoint,
    TaskRecord,
    new_id,
)
from taskmill.core.states import TaskStatus
from taskmill.core.stored import STANDARD_QUEUES
from taskmill.errors import TaskNotFoundError
from taskmill.store.http import HttpTaskStore
from tests.server.harness import Served


def test_batch_endpoint_is_one_transaction(api: httpx.Client, server: Served) -> None:
    tid = new_id()
    ops = [
        {"op": "create_task", "args": {"id": tid, "name": "b", "project": "p"}},
        {"op": "set_params", "args": {"task_id": tid, "params": [{"section": "A", "name": "x", "value": 1}]}},
        {"op": "get_params", "args": {"task_id": tid}},
        {"op": "create_queue", "args": {"name": "q"}},
        {"op": "enqueue", "args": {"name": "q", "task_id": tid, "priority": 3}},
    ]
    r = api.post("/batch", json={"ops": ops})
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert results[1] is None and results[2][0]["value"] == 1 and results[4]["status"] == "queued"

    failing = [
        {"op": "create_queue", "args": {"name": "never"}},
        {"op": "set_status", "args": {"task_id": "f" * 32, "status": "in_progress"}},
    ]
    r = api.post("/batch", json={"ops": failing})
    assert r.status_code == 404 and "f" * 32 in r.json()["detail"]
    names = [q.name for q in server.store.list_queues() if q.name not in STANDARD_QUEUES]
    assert names == ["q"]  # the first op was rolled back


def test_held_back_writes_fail_together(remote: HttpTaskStore, server: Served) -> None:
    with pytest.raises(TaskNotFoundError, match="e" * 32):
        with remote.batch():
            made = remote.create_task(TaskRecord(id=new_id(), name="held", project="p"))
            remote.set_params(made.id, [Param("A", "b", 1)])
            remote.set_config("e" * 32, ConfigObject("c", "{}"))  # fails when the batch is sent
    assert server.store.find_tasks() == []


def test_reads_inside_a_batch_see_its_writes(remote: HttpTaskStore) -> None:
    with remote.batch():
        made = remote.create_task(TaskRecord(id=new_id(), name="seen", project="p"))
        remote.set_params(made.id, [Param("A", "b", 2)])
        assert remote.get_param_dict(made.id) == {"A/b": 2}  # sent with the held-back writes
        remote.set_status(made.id, TaskStatus.in_progress)
        remote.set_config(made.id, ConfigObject("c", "{}"))
    assert remote.get_task(made.id).status == TaskStatus.in_progress
    assert [c.name for c in remote.get_configs(made.id)] == ["c"]


def test_every_held_back_write_works_in_a_batch(remote: HttpTaskStore, server: Served) -> None:
    remote.create_queue("q")
    remote.register_worker("w", ["q"], {})
    art = server.artifacts.default_uri  # records must point where the server may read
    with remote.batch():
        made = remote.create_task(TaskRecord(id=new_id(), name="all", project="p"))
        remote.set_params(made.id, [Param("A", "x", 1), Param("A", "y", 2)])
        remote.delete_params(made.id, [("A", "y")])
        remote.set_config(made.id, ConfigObject("c", "{}"))
        remote.put_artifact(ArtifactRecord(made.id, "a", f"{art}/a.bin", "file", "raw", 1))
        remote.put_artifact(ArtifactRecord(made.id, "b", f"{art}/b.bin", "file", "raw", 1))
        remote.delete_artifact(made.id, "b")
        remote.add_model(ModelRecord(made.id, new_id(), "m", f"{art}/m.pt"))
        remote.add_scalars(made.id, [ScalarPoint("loss", "train", 0, 0.5)])
        remote.add_plot(made.id, PlotRecord("t", "s", 0, "table", {"rows": []}))
        remote.put_nodes(made.id, [("step", {"status": "running"})])
        remote.heartbeat("w", made.id)
        remote.unregister_worker("w")
        remote.delete_queue("q")
        assert server.store.find_tasks() == []  # all held back so far
    s = server.store
    assert s.get_param_dict(made.id) == {"A/x": 1}
    assert [a.name for a in s.get_artifacts(made.id)] == ["a"] and len(s.get_models(made.id)) == 1
    assert len(s.get_scalars(made.id)) == 1 and len(s.get_plots(made.id)) == 1 and s.get_configs(made.id)
    assert s.get_nodes(made.id) == [("step", {"status": "running"})]
    assert s.list_workers() == [] and [q.name for q in s.list_queues()] == sorted(STANDARD_QUEUES)


def test_nested_batches_join_and_threads_are_separate(remote: HttpTaskStore, server: Served) -> None:
    with remote.batch():
        outer = remote.create_task(TaskRecord(id=new_id(), name="outer", project="p"))
        with remote.batch():
            remote.set_params(outer.id, [Param("A", "n", 1)])
        assert server.store.find_tasks() == []  # nothing sent yet: the inner block joined the outer
    assert server.store.get_param_dict(outer.id) == {"A/n": 1}
