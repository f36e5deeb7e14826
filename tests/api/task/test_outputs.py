"""A task's outputs: registered artifacts, reports read back, progress."""

from __future__ import annotations

from pathlib import Path

import pytest

from taskmill import Task


@pytest.fixture(autouse=True)
def _home(tm_home: Path) -> None:
    """Every test here gets its own store."""


def test_logger_text_table_single_value() -> None:
    t = Task.create(project_name="p", task_name="x")
    log = t.get_logger()
    log.report_text("hello log", print_console=False)
    log.report_single_value("acc", 0.9)
    log.report_table("tbl", "s", table_plot=[["a", "b"], [1, 2]])
    assert "hello log" in t.get_reported_console_output()
    assert t.get_reported_single_values() == {"acc": 0.9}
    assert t.get_reported_plots()[0]["data"] == {"columns": ["a", "b"], "rows": [[1, 2]]}


def test_last_scalar_metrics() -> None:
    task = Task.create(project_name="compat", task_name="t1")
    logger = task.get_logger()
    for i, v in enumerate([0.9, 0.4, 0.6]):
        logger.report_scalar("loss", "val", v, iteration=i)
    assert task.get_last_scalar_metrics() == {"loss": {"val": {"last": 0.6, "min": 0.4, "max": 0.9}}}


def test_registered_artifacts_are_uploaded_again_at_close() -> None:
    task = Task.create(project_name="compat", task_name="t1")
    table = {"rows": [1]}
    task.register_artifact("table", table, metadata={"kind": "growing"})
    table["rows"].append(2)  # changed after registering: the final state is uploaded at close
    task.register_artifact("dropped", [0])
    task.unregister_artifact("dropped")
    task.mark_started()
    task.close()
    assert task.artifacts["table"].get() == {"rows": [1, 2]}
    assert task.artifacts["dropped"].get() == [0]


def test_progress_is_clamped() -> None:
    t = Task.create(project_name="p", task_name="x")
    t.set_progress(150)
    assert t.get_progress() == 100
    t.set_progress(-3)
    assert t.get_progress() == 0


def test_delete_artifacts() -> None:
    t = Task.create(project_name="p", task_name="x")
    t.upload_artifact("a", {"x": 1})
    assert t.delete_artifacts(["a"])
    assert "a" not in t.artifacts
    with pytest.raises(KeyError, match="has no artifact 'a'"):
        t.delete_artifacts(["a"])
    assert t.delete_artifacts(["a"], raise_on_errors=False)
