"""TaskHandle: identity, fields read from the store, and status transitions."""

from __future__ import annotations

from pathlib import Path

import pytest

from taskmill import Task, TaskTypes
from taskmill.errors import InvalidTransitionError


@pytest.fixture(autouse=True)
def _home(tm_home: Path) -> None:
    """Every test here gets its own store."""


def test_status_methods_and_illegal_transition() -> None:
    t = Task.create(project_name="p", task_name="x")
    t.mark_started()
    assert t.get_status() == "in_progress"
    t.mark_failed(status_reason="bad data")
    assert t.status == "failed" and t.data.status_reason == "bad data"
    t.reset()
    t.mark_started()
    t.mark_completed()
    with pytest.raises(InvalidTransitionError, match="'completed' to 'in_progress'"):
        t.mark_started()
    t.publish()
    with pytest.raises(InvalidTransitionError, match="final status"):
        t.reset()


def test_fields_are_read_from_the_store_not_cached() -> None:
    t = Task.create(project_name="p", task_name="x", task_type="testing")
    other = Task.get_task(task_id=t.id)  # a second handle on the same task
    other.set_name("renamed")
    other.set_comment("why")
    assert (t.name, t.comment, t.project, t.get_project_name()) == ("renamed", "why", "p", "p")
    assert t.task_type == TaskTypes.testing and t.task_id == t.id
    assert t.to_dict()["name"] == "renamed" and t.data.name == "renamed"


def test_output_uri_defaults_to_the_artifact_location_and_can_be_set(tm_home: Path) -> None:
    t = Task.create(project_name="p", task_name="x")
    default = t.output_uri
    assert default and t.get_output_destination() == default
    t.output_uri = "s3://bucket/out"
    assert Task.get_task(task_id=t.id).output_uri == "s3://bucket/out"
    t.output_uri = True  # ClearML: True means the default location
    assert t.output_uri == default


def test_wait_for_status_returns_raises_or_times_out() -> None:
    t = Task.create(project_name="p", task_name="x")
    with pytest.raises(TimeoutError, match="still 'created'"):
        t.wait_for_status(timeout=0.1, check_interval_sec=0.01)
    t.mark_started()
    t.mark_completed()
    t.wait_for_status()  # completed: returns at once
    failed = Task.create(project_name="p", task_name="y")
    failed.mark_started()
    failed.mark_failed(status_message="broken")
    with pytest.raises(RuntimeError, match="ended with status 'failed': broken"):
        failed.wait_for_status()
