"""The automation pages' data: next-run wording, what an entry watches, the objective charts."""

from __future__ import annotations

from taskmill.core.model import TaskRecord
from taskmill.runs.automation import OptimizationView, TrialView
from taskmill.server.ui.automation_views import describe, parameter_chart, progress_chart, until


def test_until_counts_down_and_says_when_due() -> None:
    assert until(1000.0 + 42, now=1000.0) == "in 42 s"
    assert until(1000.0 + 3 * 3600 + 5, now=1000.0) == "in 3 h"
    assert until(1000.0 + 86400 * 2, now=1000.0) == "in 2 days"
    assert until(990.0, now=1000.0) == "due now"
    assert until(None) == "\u2013"


def test_describe_says_what_a_trigger_watches() -> None:
    text = describe(
        "trigger",
        {
            "kind": "task",
            "project": "work",
            "on_status": ["failed"],
            "metrics": "loss",
            "variant": "val",
            "threshold": 0.1,
            "value_sign": "min",
            "tags": ["a"],
        },
    )
    assert text == "tasks in project 'work'; status failed; loss/val <= 0.1; tagged any of a"
    assert describe("scheduler", {"schedule": "every day at 03:00", "timezone": "UTC"}) == (
        "every day at 03:00 (UTC)"
    )
    assert describe("trigger", {}) == ""


def _view(values: list[tuple[object, float | None]]) -> OptimizationView:
    trials = [
        TrialView(TaskRecord(id=f"t{i}", name=f"trial {i}", project="p", created=float(i)), {"x": x}, y)
        for i, (x, y) in enumerate(values)
    ]
    trials.sort(key=lambda t: (t.objective is None, t.objective or 0.0))
    return OptimizationView(trials[0].task, "loss", "val", "min", ["x"], trials)


def test_numeric_parameters_are_a_scatter_with_the_best_on_top() -> None:
    chart = parameter_chart(_view([(1, 4.0), (2, 1.0), (3, 0.5), (4, None)]), "x")
    assert chart is not None and chart.title == "loss vs x" and chart.x_title == "x"
    trials, best = chart.series
    assert [m[2] for m in trials.marks] == ["trials @ 1: 4", "trials @ 2: 1", "trials @ 3: 0.5"]
    assert [m[2] for m in best.marks] == ["best @ 3: 0.5"] and trials.last is None


def test_other_parameters_are_bars_of_the_best_per_value() -> None:
    chart = parameter_chart(_view([("adam", 2.0), ("sgd", 3.0), ("adam", 1.0)]), "x")
    assert chart is not None
    assert sorted(b.label for b in chart.bars) == ["best loss/val @ adam: 1", "best loss/val @ sgd: 3"]
    assert parameter_chart(_view([("adam", None)]), "x") is None  # nothing scored yet


def test_progress_is_in_creation_order_with_the_best_so_far() -> None:
    chart = progress_chart(_view([(1, 3.0), (2, 1.0), (3, 2.0)]))
    assert chart is not None
    trial, best = chart.series
    assert [m[2] for m in trial.marks] == ["trial @ 1: 3", "trial @ 2: 1", "trial @ 3: 2"]
    assert [m[2] for m in best.marks] == ["best so far @ 1: 3", "best so far @ 2: 1", "best so far @ 3: 1"]
