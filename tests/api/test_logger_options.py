"""Logger settings and deprecated aliases: flush period, NaN/Inf, logging capture, old names."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from taskmill import Logger, Task
from taskmill.api.session import PROCESS


@pytest.fixture(autouse=True)
def _home(tm_home: Path) -> None:
    """Every test here gets its own store."""


def test_flush_period_applies_to_the_tasks_reporter() -> None:
    t = Task.create(project_name="p", task_name="flush")
    log = t.get_logger()
    assert log.get_flush_period() == 0.5
    log.set_flush_period(0.05)
    assert t.get_logger().get_flush_period() == 0.05
    log.set_flush_period(None)
    assert log.get_flush_period() == 0.5


def test_nan_and_inf_are_replaced_once_a_replacement_is_set(caplog: pytest.LogCaptureFixture) -> None:
    t = Task.create(project_name="p", task_name="nan")
    log = t.get_logger()
    log.report_scalar("m", "a", 0.5, 0)
    Logger.set_reporting_nan_value(-1.0, warn_period=2)
    Logger.set_reporting_inf_value(99.0)
    with caplog.at_level(logging.WARNING, logger="taskmill.api.logger"):
        for i in range(1, 4):
            log.report_scalar("m", "a", float("nan"), i)
    log.report_scalar("m", "b", float("-inf"), 0)
    t.flush()
    ys = t.get_reported_scalars()["m"]
    assert ys["a"]["y"] == [0.5, -1.0, -1.0, -1.0]
    assert ys["b"]["y"] == [99.0]
    assert len([r for r in caplog.records if "reporting nan" in r.getMessage()]) == 2  # 1st and 3rd


def test_capture_logging_copies_records_into_the_console_log() -> None:
    t = Task.create(project_name="p", task_name="logging")
    log = t.get_logger()
    logging.getLogger().setLevel(logging.INFO)
    with log.capture_logging():
        logging.getLogger("train").info("epoch done")
    logging.getLogger("train").info("after the block")
    t.flush()
    text = "\n".join(t.get_reported_console_output())
    assert "train - INFO - epoch done" in text and "after the block" not in text


def test_switches_and_sample_history_are_recorded() -> None:
    t = Task.create(project_name="p", task_name="switches")
    log = t.get_logger()
    assert log.get_default_debug_sample_history() == 100
    log.set_default_debug_sample_history(5)
    assert t.get_logger().get_default_debug_sample_history() == 5
    Logger.matplotlib_force_report_non_interactive(True)
    Logger.tensorboard_auto_group_scalars(True)
    Logger.tensorboard_single_series_per_graph(True)
    assert PROCESS.switches == {
        "matplotlib_non_interactive": True,
        "tensorboard_auto_group_scalars": True,
        "tensorboard_single_series_per_graph": True,
    }


def test_deprecated_names_take_clearmls_positional_order() -> None:
    t = Task.create(project_name="p", task_name="old names")
    log = Logger(private_task=t)
    log.report_matrix("cm", "s", [[1, 2], [3, 4]], 2, "pred", "true", ["a", "b"], ["c", "d"])
    log.report_vector("hist", "s", [1, 2, 3], 4, None, ["x", "y", "z"])
    log.report_image_and_upload("img", "s", 5, matrix=[[0, 255]])
    plots = {(p["title"], p["iteration"]): p for p in t.get_reported_plots()}
    cm = plots[("cm", 2)]["data"]["data"][0]
    assert cm["x"] == ["a", "b"] and cm["y"] == ["c", "d"]
    assert plots[("hist", 4)]["data"]["data"][0]["x"] == ["x", "y", "z"]
    assert plots[("img", 5)]["kind"] == "image"


def test_logger_of_the_current_task_by_default() -> None:
    with pytest.raises(ValueError, match=r"Task.init"):
        Logger()
    t = Task.create(project_name="p", task_name="main")
    PROCESS.main_task = t
    try:
        Logger().report_text("hello", print_console=False)
    finally:
        PROCESS.main_task = None
    assert "hello" in t.get_reported_console_output()
