"""Creating and finding tasks: create, get_task, get_tasks, query_tasks, clone, queues."""

from __future__ import annotations

from pathlib import Path

import pytest

from taskmill import Task, TaskTypes
from taskmill.errors import QueueNotFoundError, TaskNotFoundError


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


def test_query_tasks_returns_ids_or_rows() -> None:
    task = Task.create(project_name="compat", task_name="t1")
    other = Task.create(project_name="compat", task_name="t2")
    assert set(Task.query_tasks(project_name="compat")) == {task.id, other.id}
    rows = Task.query_tasks(
        project_name="compat", task_name="t2", additional_return_fields=["name", "status"]
    )
    assert rows == [{"id": other.id, "name": "t2", "status": "created"}]
