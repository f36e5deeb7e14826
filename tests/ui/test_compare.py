"""The compare page with many runs: parameters, steps and metrics side by side, one overlaid
scalar chart per metric with a line per run, leaving a run out, and the old two-run links."""

from __future__ import annotations

from playwright.sync_api import expect

from taskmill.server.ui.compare import MAX_RUNS, compare_runs, label
from taskmill.server.ui.runcache import RunCache
from taskmill.store.base import TaskStore
from tests.ui.conftest import Watched
from tests.ui.resources import hostile, training


def test_ten_runs_side_by_side_with_overlaid_metrics(web: Watched, store: TaskStore) -> None:
    runs = []
    for i in range(10):
        pipe = training(rate=round(0.05 * (i + 1), 2), fail=i == 9)
        pipe.debug_pipeline(progress=False)
        runs.append(pipe.id)
    page = web.page
    page.goto("/compare?" + "&".join(f"run={r}" for r in runs))
    expect(page.locator("h1")).to_have_text("Compare runs")
    expect(page.locator(".compare-head")).to_have_count(10)
    expect(page.locator(".compare-label")).to_have_text(list("ABCDEFGHIJ"))

    rate = page.locator(".compare-params tr", has_text="rate")
    expect(rate).to_have_class("differs")
    expect(rate.locator("td")).to_have_text([str(round(0.05 * (i + 1), 2)) for i in range(10)])
    evaluate = page.locator(".compare-steps tbody tr", has_text="evaluate").first
    expect(evaluate.locator("td")).to_have_count(11)  # ten runs and "differs in"
    expect(evaluate).to_contain_text("status")
    load = page.locator(".compare-steps tbody tr", has_text="load").first
    expect(load.locator("td").last).to_have_text("status")  # run A computed it, the rest hit its cache

    metrics = page.locator(".compare-metrics tbody tr")
    expect(metrics).to_have_count(2)  # loss/train and loss/validation of step train
    train = metrics.filter(has_text="train").filter(has_text="loss").first
    expect(train.locator("td.num")).to_have_count(10)
    # last value 1 / (1 + 7 * rate * 10): lower for a higher rate
    expect(train.locator("td.num").first).to_have_text(f"{1 / (1 + 7 * 0.05 * 10):.6g}")

    charts = page.locator("#compare-metrics figure.scalar-chart")
    expect(charts).to_have_count(2)
    first = charts.first
    expect(first.locator("figcaption")).to_contain_text("step train")
    expect(first.locator("svg polyline.line")).to_have_count(10)  # one line per run
    expect(first.locator(".chart-legend [data-line]")).to_have_count(10)
    expect(first.locator(".chart-legend [data-line]").nth(2)).to_contain_text("C ")
    first.locator(".chart-legend [data-line]").first.click()
    expect(first.locator("svg polyline.line")).to_have_count(9)
    colours = first.locator("svg polyline.line").evaluate_all("ls => ls.map(l => l.getAttribute('class'))")
    assert colours[0] == "line s1" and colours[-1] == "line s1 dash"  # B keeps its colour; J is dashed
    web.shot("compare-ten")

    page.locator(".compare-head").nth(9).get_by_role("link", name="Leave out").click()
    expect(page.locator(".compare-head")).to_have_count(9)
    expect(page.locator(".compare-steps tbody tr", has_text="evaluate").first).not_to_contain_text(
        "status"
    )  # the failed run was the only one to differ

    page.goto(f"/compare?a={runs[1]}&b={runs[0]}")  # the two-run links of before
    expect(page.locator(".compare-head")).to_have_count(2)
    page.get_by_role("link", name="Swap sides").click()
    expect(page.locator(".compare-params tr", has_text="rate").locator("td")).to_have_text(["0.05", "0.1"])

    page.goto(f"/compare?run={runs[0]}")
    expect(page.locator(".problem")).to_contain_text("two or more runs")


def test_steps_of_different_pipelines_say_where_they_are(store: TaskStore) -> None:
    ok = training()
    ok.debug_pipeline(progress=False)
    other = hostile()
    other.debug_pipeline(progress=False)
    data = compare_runs(store, RunCache(store), [ok.id, other.id, ok.id])  # repeats dropped
    assert data.labels == ["A", "B"]
    by_name = {row.name: row for row in data.rows}
    assert by_name["train"].present == ["A"] and by_name["train"].absent == ["B"]
    assert by_name["train"].sides[1] is None and by_name["train"].differs == []
    assert {m.step for m in data.metrics} == {"train"}
    assert all(m.values[1] is None for m in data.metrics)
    assert [line.name for line in data.charts[0].series] == [f"A {data.runs[0].summary.name}"]
    assert data.query_without(0) == f"run={other.id}"


def test_labels_and_limits(store: TaskStore) -> None:
    assert [label(i) for i in (0, 1, 25, 26)] == ["A", "B", "Z", "R27"]
    for ids in ([], ["x"], ["x", "x"], [f"r{i}" for i in range(MAX_RUNS + 1)]):
        try:
            compare_runs(store, RunCache(store), ids)
        except ValueError as exc:
            assert "runs" in str(exc)
        else:
            raise AssertionError(f"{ids} were compared")
