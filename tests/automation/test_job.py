"""ClearmlJob: a clone with overrides, launched on a queue, followed and aborted."""

from __future__ import annotations

import pytest

from taskmill import Task
from taskmill.automation.job import ClearmlJob, abort_task, apply_task_overrides
from taskmill.store.base import TaskStore


def test_a_job_is_a_clone_with_overrides(store: TaskStore, echo: Task) -> None:
    store.create_queue("jobs")
    job = ClearmlJob(
        echo.id,
        parameter_override={"Args/source": "x", "Args/n": 3},
        task_overrides={"script.branch": "main", "script.version_num": "abc123", "name": "echo-x"},
        configuration_overrides={"cfg": {"a": 1}},
        tags=["nightly"],
        parent=echo.id,
        target_project="elsewhere",
    )
    task = job.task
    assert task.id != echo.id and task.project == "elsewhere" and task.name == "echo-x"
    assert task.get_parameters()["Args/n"] == 3 and task.get_tags() == ["nightly"]
    assert task.get_script_info().branch == "main" and task.get_script_info().commit == "abc123"
    assert task.get_configuration_object_as_dict("cfg") == {"a": 1}
    assert job.is_pending() and not job.started() and job.elapsed() == -1 and job.iterations() == -1
    assert job.launch("jobs") and job.status() == "queued"
    job.abort()
    assert job.is_aborted() and job.is_stopped() and Task.get_task(task_id=echo.id).status == "created"
    assert not job.launch("no-such-queue")


def test_metrics_and_iterations_of_a_running_job(store: TaskStore, echo: Task) -> None:
    job = ClearmlJob(echo.id)
    job.task.mark_started()
    for i, value in enumerate((0.9, 0.4, 0.6)):
        job.task.get_logger().report_scalar("val", "loss", value, iteration=i)
    assert job.get_metric("val", "loss") == (0.4, 0.9, 0.6)
    assert job.get_metric("val", "acc") == (None, None, None)
    assert job.iterations() == 2 and job.is_running() and job.elapsed() >= 0
    assert abort_task(job.task) and not abort_task(job.task)


def test_reuse_task_enqueues_the_base_itself(store: TaskStore, echo: Task) -> None:
    store.create_queue("jobs")
    job = ClearmlJob(echo.id, disable_clone_task=True)
    assert job.task.id == echo.id and job.launch("jobs")


def test_unknown_overrides_say_what_is_supported(store: TaskStore, echo: Task) -> None:
    with pytest.raises(ValueError, match=r"script\.<"):
        apply_task_overrides(echo, {"execution.queue": "x"})
