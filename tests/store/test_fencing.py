"""Fencing, on every backend: a superseded attempt's status, artifact and log writes are refused."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from taskmill.core.model import ArtifactRecord, LogLine, TaskRecord, new_id
from taskmill.core.states import TaskStatus
from taskmill.errors import ConflictError
from taskmill.store.base import TaskStore
from taskmill.store.factory import open_store
from tests.store.test_contract import store, store_url  # noqa: F401  (the backend fixtures)


@pytest.fixture
def zombie(store_url: str) -> Iterator[TaskStore]:  # noqa: F811
    """A second client: the process that runs the first attempt."""
    s = open_store(store_url)
    yield s
    s.close()


def claimed(store: TaskStore, task_id: str) -> int:  # noqa: F811
    store.enqueue(task_id, "q")
    got = store.claim(["q"], "w")
    assert got is not None and got.id == task_id
    return store.attempt_of(task_id)


def test_each_claim_is_a_new_attempt_and_supersedes_the_last(store: TaskStore, zombie: TaskStore) -> None:  # noqa: F811
    store.create_queue("q")
    task = store.create_task(TaskRecord(id=new_id(), name="t", project="p"))
    other = store.create_task(TaskRecord(id=new_id(), name="o", project="p"))
    assert store.attempt_of(task.id) == 0
    assert claimed(store, task.id) == 1
    zombie.fence(task.id, 1)
    zombie.append_log(task.id, [LogLine("first attempt")])  # still current: accepted
    zombie.put_artifact(ArtifactRecord(task.id, "out", "/x/1", "json", "json", 1, "sha256:1"))

    # its agent is declared dead and the task retried: the same task, claimed again
    store.set_status(task.id, TaskStatus.failed, message="agent died", force=True)
    store.set_status(task.id, TaskStatus.created, force=True)
    assert claimed(store, task.id) == 2

    superseded = "attempt 1 was superseded by attempt 2"
    with pytest.raises(ConflictError, match=f"task {task.id}: {superseded}"):
        zombie.set_status(task.id, TaskStatus.completed)
    with pytest.raises(ConflictError, match=superseded):
        zombie.put_artifact(ArtifactRecord(task.id, "out", "/x/zombie", "json", "json", 1, "sha256:z"))
    with pytest.raises(ConflictError, match=superseded):
        zombie.append_log(task.id, [LogLine("zombie")])
    with pytest.raises(ConflictError, match=superseded):
        zombie.update_task(task.id, progress=50)
    with pytest.raises(ConflictError, match=superseded), zombie.batch():
        zombie.append_log(task.id, [LogLine("zombie in a batch")])
    zombie.append_log(other.id, [LogLine("another task")])  # the fence is for its own task only

    current = store.get_task(task.id)
    assert current.status == TaskStatus.in_progress and current.progress == 0
    assert [a.uri for a in store.get_artifacts(task.id)] == ["/x/1"]
    assert [ln.text for ln in store.get_log(task.id)] == ["first attempt"]

    store.fence(task.id, 2)  # the retry's own process writes freely
    store.append_log(task.id, [LogLine("retry")])
    assert store.set_status(task.id, TaskStatus.completed).status == TaskStatus.completed
    store.fence(None)
    zombie.fence(None)  # lifted: an unfenced client (a UI, an admin) may write again
    zombie.append_log(task.id, [LogLine("admin note")])
