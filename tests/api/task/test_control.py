"""Renaming, tags, projects, reload, stop requests, abort callbacks and lookups (real SQLite store)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from taskmill import Task
from taskmill.api.session import PROCESS
from taskmill.api.task import control
from taskmill.errors import TaskNotFoundError


@pytest.fixture(autouse=True)
def _home(tm_home: Path) -> None:
    """Every test here gets its own store."""


def test_rename_tags_project_and_reload() -> None:
    t = Task.create(project_name="p", task_name="a")
    other_handle = Task.get_task(task_id=t.id)
    t.rename("b")
    t.add_tags(["x", "y", "z"])
    t.remove_tags(["x", "absent"])
    t.remove_tags("z")
    t.set_project(project_name="q/sub")
    other_handle.reload()
    assert (other_handle.name, other_handle.get_tags(), other_handle.project) == ("b", ["y"], "q/sub")
    assert Task.get_project_id("q/sub") == "q/sub" and Task.get_project_id("nope") is None
    assert "q/sub" in [p.name for p in Task.get_projects()]
    assert t.get_project_object().name == "q/sub"
    t.move_to_project(new_project_id="r")
    assert Task.get_task(task_id=t.id).project == "r"
    assert t.logger.get_default_upload_destination() == t.get_logger().get_default_upload_destination()
    with pytest.raises(ValueError):
        t.set_project()


def test_lookups_by_name_and_get_all() -> None:
    a = Task.create(project_name="p", task_name="same")
    b = Task.create(project_name="q", task_name="same")
    Task.create(project_name="q", task_name="other")
    assert Task.get_by_name("same").id == b.id  # most recently updated
    with pytest.raises(TaskNotFoundError):
        Task.get_by_name("nobody")
    assert {t.id for t in Task.get_all(name="same")} == {a.id, b.id}
    assert [t.id for t in Task.get_all(project="p")] == [a.id]
    assert [t.id for t in Task.get_all(id=[b.id])] == [b.id]
    with pytest.raises(ValueError, match="unsupported filters"):
        Task.get_all(colour="red")


def test_current_main_task_queue_and_registered_artifacts() -> None:
    t = Task.create(project_name="p", task_name="q")
    assert not t.is_current_task() and not t.is_main_task()
    PROCESS.main_task = t
    try:
        assert t.is_current_task() and t.is_main_task()
    finally:
        PROCESS.main_task = None
    assert t.get_executed_queue() is None
    queue = PROCESS.session().store.create_queue("gpu")
    Task.enqueue(t, queue_name="gpu")
    assert Task.get_num_enqueued_tasks("gpu") == 1 and Task.get_num_enqueued_tasks(queue_id=queue.id) == 1
    assert t.get_executed_queue() == queue.id and t.get_executed_queue(return_name=True) == "gpu"
    t.register_artifact("table", {"a": 1})
    assert t.get_registered_artifacts() == {"table": {"a": 1}}
    assert Task.resolve_id(t) == t.id and Task.normalize_id(f" {t.id} ") == t.id


def test_abort_callback_runs_once_when_stopped_from_outside(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(control, "ABORT_POLL_SECONDS", 0.05)
    t = Task.create(project_name="p", task_name="long")
    t.mark_started()
    called = threading.Event()
    t.register_abort_callback(called.set, callback_execution_timeout=5)
    Task.get_task(task_id=t.id).mark_stop_request()
    assert called.wait(5)
    assert t.status == "stopped"


def test_ignore_requirements_takes_clearmls_keyword() -> None:
    Task.ignore_requirements(package_name="rich")
    Task.ignore_requirements(["numpy"])
    assert PROCESS.requirements_ignored == {"rich", "numpy"}
    with pytest.raises(ValueError):
        Task.ignore_requirements()
