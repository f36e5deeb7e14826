"""The Task API in-process: create, clone, queues, parameters, lookup, status, logger."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from taskmill import Task, TaskTypes
from taskmill.errors import InvalidTransitionError, QueueNotFoundError, TaskNotFoundError


@pytest.fixture(autouse=True)
def _home(tm_home: Path) -> None:
    """Every test here gets its own store."""


def test_create_is_a_draft_with_script(tmp_path: Path) -> None:
    script = tmp_path / "step.py"
    script.write_text("print('hi')\n")
    t = Task.create(
        project_name="p",
        task_name="step",
        script=str(script),
        packages=["numpy>=1"],
        argparse_args=[("lr", "0.1")],
        task_type="data_processing",
    )
    assert t.status == "created"
    assert t.task_type == TaskTypes.data_processing
    info = t.get_script_info()
    assert info.entry_point == "step.py" and info.requirements == "numpy>=1"
    assert t.get_parameters() == {"Args/lr": "0.1"}


def test_parameters_keep_types_and_default_section() -> None:
    t = Task.create(project_name="p", task_name="x")
    t.set_parameter("lr", 0.1)
    t.set_parameter("Args/epochs", 3, description="how many")
    assert t.get_parameter("General/lr") == 0.1
    assert t.get_parameter("lr") == 0.1
    assert t.get_parameters() == {"Args/epochs": 3, "General/lr": 0.1}
    t.update_parameters({"Args/batch": 16})
    assert t.get_parameters_as_dict() == {"Args": {"epochs": 3, "batch": 16}, "General": {"lr": 0.1}}
    t.set_parameters({"only": True})
    assert t.get_parameters() == {"General/only": True}
    t.set_parameters({"Args/a": 1}, __update=True)
    assert t.get_parameters() == {"General/only": True, "Args/a": 1}


def test_connect_namespace_and_object() -> None:
    t = Task.create(project_name="p", task_name="x")
    ns = argparse.Namespace(lr=0.1, name="n")
    assert t.connect(ns) is ns

    class Cfg:
        depth = 4
        width = 8

        def method(self) -> None: ...

    t.connect(Cfg(), name="Model")
    assert t.get_parameters() == {"Args/lr": 0.1, "Args/name": "n", "Model/depth": 4, "Model/width": 8}


def test_clone_copies_inputs_not_outputs() -> None:
    src = Task.create(project_name="p", task_name="base")
    src.set_parameters({"Args/lr": 0.5})
    src.set_configuration_object("cfg", config_dict={"a": 1})
    src.get_logger().report_scalar("loss", "s", 1.0, 0)
    src.flush()
    c = Task.clone(src, name="copy", comment="cloned")
    assert c.id != src.id and c.name == "copy" and c.status == "created"
    assert c.parent == src.id
    assert c.get_parameters() == {"Args/lr": 0.5}
    assert c.get_configuration_object_as_dict("cfg") == {"a": 1}
    assert c.get_reported_scalars() == {}


def test_enqueue_dequeue_and_unknown_queue() -> None:
    t = Task.create(project_name="p", task_name="x")
    with pytest.raises(QueueNotFoundError, match="no queue named 'missing'"):
        Task.enqueue(t, queue_name="missing")
    assert t.status == "created"  # nothing changed
    from taskmill.api.session import PROCESS

    PROCESS.session().store.create_queue("default")
    res = Task.enqueue(t.id, queue_name="default")
    assert res["queued"] == 1 and t.status == "queued"
    Task.dequeue(t)
    assert t.status == "created"


def test_get_task_by_id_and_name() -> None:
    a = Task.create(project_name="p", task_name="same")
    b = Task.create(project_name="p", task_name="same")
    b.set_comment("newer")
    assert Task.get_task(task_id=a.id).id == a.id
    assert Task.get_task(project_name="p", task_name="same").id == b.id
    with pytest.raises(TaskNotFoundError, match="0123456789abcdef"):
        Task.get_task(task_id="0123456789abcdef")
    with pytest.raises(TaskNotFoundError, match="nope"):
        Task.get_task(project_name="p", task_name="nope")


def test_get_task_finds_pipeline_runs_in_hidden_project() -> None:
    run = Task.create(project_name="proj/.pipelines/pipe", task_name="pipe #2")
    assert Task.get_task(project_name="proj", task_name="pipe #2").id == run.id


def test_get_tasks_filters() -> None:
    a = Task.create(project_name="p", task_name="alpha")
    Task.create(project_name="p", task_name="beta")
    a.add_tags(["best"])
    assert [t.name for t in Task.get_tasks(project_name="p", tags=["best"])] == ["alpha"]
    assert [t.name for t in Task.get_tasks(project_name="p", task_name="bet")] == ["beta"]
    a.mark_started()
    found = Task.get_tasks(project_name="p", task_filter={"status": ["in_progress"]})
    assert [t.name for t in found] == ["alpha"]


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


def test_logger_text_table_single_value() -> None:
    t = Task.create(project_name="p", task_name="x")
    log = t.get_logger()
    log.report_text("hello log", print_console=False)
    log.report_single_value("acc", 0.9)
    log.report_table("tbl", "s", table_plot=[["a", "b"], [1, 2]])
    assert "hello log" in t.get_reported_console_output()
    assert t.get_reported_single_values() == {"acc": 0.9}
    assert t.get_reported_plots()[0]["data"] == {"columns": ["a", "b"], "rows": [[1, 2]]}


def test_tags_progress_properties() -> None:
    t = Task.create(project_name="p", task_name="x")
    t.add_tags("a")
    t.add_tags(["a", "b"])
    assert t.get_tags() == ["a", "b"]
    t.set_system_tags(["pipeline"])
    assert t.get_system_tags() == ["pipeline"]
    t.set_progress(150)
    assert t.get_progress() == 100
    t.set_user_properties(version="1.0.0")
    assert t.get_user_properties() == {"version": "1.0.0"}
    t.set_runtime_properties({"_pipeline_hash": "abc"})
    assert t.get_runtime_properties() == {"_pipeline_hash": "abc"}
