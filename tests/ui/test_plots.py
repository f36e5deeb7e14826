"""The Scalars tab of a task with reported plots: histograms and scatter plots as SVG charts, a
confusion matrix as a table of numbers, an uploaded image shown, a media file as a download link;
scalar charts with zoom, smoothing, a log axis, time axes and series toggles, and the same charts
as plain SVG without JavaScript. Screenshots go to test-output/ui/."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import numpy as np
from playwright.sync_api import expect

from taskmill import Task
from taskmill.core.model import PlotRecord, ScalarPoint
from taskmill.server.ui.charts import MAX_POINTS, ScalarLine, nice_ticks, scalar_chart
from taskmill.server.ui.details import plot_views
from taskmill.store.base import TaskStore
from tests.server.harness import Served
from tests.ui.conftest import Watched

HOSTILE = "<img src=x onerror=alert('plot')>"


def reported_task() -> Task:
    """A task with a histogram, two scatter series of one title, a confusion matrix, a surface,
    an image and a media file."""
    task = Task.create(project_name="ui-tests", task_name="plots")
    log = task.get_logger()
    log.report_histogram(
        "class counts",
        "train",
        values=np.array([52, 91, 33, 70]),
        xlabels=["cat", "dog", "bird", HOSTILE],
        xaxis="class",
        yaxis="images",
    )
    fpr = np.linspace(0.0, 1.0, 11)
    log.report_scatter2d("roc", "model a", np.column_stack([fpr, np.sqrt(fpr)]), xaxis="fpr", yaxis="tpr")
    log.report_scatter2d(
        "roc", HOSTILE, np.column_stack([fpr, fpr]), xaxis="fpr", yaxis="tpr", mode="markers"
    )
    log.report_confusion_matrix(
        "confusion",
        "validation",
        np.array([[41, 3, 1], [5, 37, 2], [0, 4, 44]]),
        xlabels=["cat", "dog", "bird"],
        ylabels=["cat", "dog", "bird"],
        xaxis="predicted",
        yaxis="true",
    )
    log.report_surface("loss surface", "s", np.eye(3))
    ramp = np.linspace(0.0, 1.0, 48)
    image = np.stack(
        [
            np.outer(ramp, np.ones(64)),
            np.outer(np.ones(48), np.linspace(0, 1, 64)),
            0.5 + 0 * np.ones((48, 64)),
        ],
        axis=2,
    )
    log.report_image("samples", "gradient", iteration=3, image=image)
    log.report_media("audio", "clip", stream=io.BytesIO(b"RIFF...."), file_extension="wav")
    return task


def test_task_page_draws_plots(web: Watched, store: TaskStore) -> None:
    task = reported_task()
    page = web.page
    # the server-drawn charts, as without the plotly extra (or with JavaScript failing to load)
    page.route("**/plotly/plotly.min.js*", lambda route: route.abort())
    page.goto(f"/tasks/{task.id}")
    page.locator('[data-tab-target="scalars"]').click()
    plots = page.locator(".plots")

    histogram = plots.locator("figure.chart", has_text="class counts")
    expect(histogram.locator("svg rect.bar")).to_have_count(4)
    expect(histogram.locator("svg text.axis-title")).to_have_text(["class", "images"])
    expect(histogram.locator("svg rect.bar title").last).to_have_text(f"train @ {HOSTILE}: 70")

    roc = plots.locator("figure.chart", has_text="roc")
    expect(roc).to_have_count(1)  # both series in one chart, as ClearML draws them
    expect(roc.locator("svg polyline")).to_have_count(1)  # "model a"; the other is markers only
    expect(roc.locator("svg circle.mark")).to_have_count(22)
    expect(roc.locator(".chart-legend")).to_contain_text(HOSTILE)

    matrix = plots.locator("figure", has_text="confusion")
    expect(matrix.locator("thead th")).to_have_text(["true \\ predicted", "cat", "dog", "bird"])
    expect(matrix.locator("tbody th")).to_have_text(["bird", "dog", "cat"])  # row 0 at the bottom
    expect(matrix.locator("tbody tr").first.locator("td")).to_have_text(["0", "4", "44"])
    expect(matrix.locator("td.hm5")).to_have_text(["44", "41"])  # the darkest cells

    expect(plots.locator("figure", has_text="loss surface").locator("pre.code")).to_contain_text('"surface"')
    # debug images and media are in the Media tab only (not a second time among the plots)
    expect(plots.locator("img.debug-image")).to_have_count(0)
    page.locator('[data-tab-target="media"]').click()
    pane = page.locator('[data-tab-pane="media"]')
    media = pane.locator("figure", has_text="audio").locator("a[download]")
    expect(media).to_have_attribute("href", f"/tasks/{task.id}/artifacts/debug/audio/clip/0")
    image = pane.locator("img.debug-image")
    expect(image).to_have_attribute("alt", "samples · gradient")
    image.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    assert image.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [64, 48]
    page.locator('[data-tab-target="scalars"]').click()
    histogram.scroll_into_view_if_needed()
    web.shot("task-plots")


def test_plot_views_show_the_latest_report_and_only_web_links() -> None:
    def bars(*y: int) -> dict[str, object]:
        return {"data": [{"type": "bar", "y": list(y), "name": ""}], "layout": {}}

    records = [
        PlotRecord("h", "s", 1, "plotly", bars(1)),
        PlotRecord("h", "s", 5, "plotly", bars(5, 6)),
        PlotRecord("h", "s", 3, "plotly", bars(3)),
        PlotRecord("img", "a", 0, "image", {"artifact": "", "url": "javascript:alert(1)", "format": ""}),
        PlotRecord("img", "b", 0, "image", {"artifact": "debug/img/b 1?/0", "url": "", "format": "png"}),
        PlotRecord("t", "s", 0, "table", {"columns": ["a"], "rows": [[1]]}),
        PlotRecord("pie", "s", 0, "plotly", {"data": [{"type": "pie", "values": [1]}]}),
        PlotRecord("text", "s", 0, "bar", [1, 2]),
    ]
    views = plot_views("t1", records)
    assert [(v.title, v.series, v.kind) for v in views] == [
        ("h", "s", "chart"),
        ("img", "a", "json"),  # not a link: only http(s) URLs are
        ("img", "b", "image"),
        ("t", "s", "table"),
        ("pie", "s", "json"),
        ("text", "s", "json"),
    ]
    latest = views[0]
    assert latest.subtitle == "s · iteration 5 · 2 earlier not shown"
    assert latest.chart is not None and [b.label for b in latest.chart.bars] == ["s @ 0: 5", "s @ 1: 6"]
    assert views[2].src == "/tasks/t1/artifacts/debug/img/b%201%3F/0"


def test_axis_ticks_cover_the_values() -> None:
    assert nice_ticks(0.05, 1.1) == [0.0, 0.5, 1.0, 1.5]
    assert nice_ticks(0, 91) == [0, 25, 50, 75, 100]
    assert nice_ticks(0, 1) == [0, 0.25, 0.5, 0.75, 1.0]


def scalars_task(store: TaskStore) -> Task:
    """A task with two loss series of 20 points, 30 s apart, growing tenfold every 5 iterations."""
    task = Task.create(project_name="ui-tests", task_name="scalars")
    start = 1_750_000_000.0
    points = [
        ScalarPoint("loss", series, i, scale * 10 ** (i / 5), start + 30 * i)
        for series, scale in (("train", 1.0), (HOSTILE, 2.0))
        for i in range(20)
    ]
    store.add_scalars(task.id, points)
    return task


def x_ticks(chart: Any) -> list[str]:
    return [t.strip() for t in chart.locator("svg text.x-tick").all_text_contents()]


def test_scalar_charts_zoom_smooth_log_axes_and_toggles(web: Watched, store: TaskStore) -> None:
    task = scalars_task(store)
    page = web.page
    page.goto(f"/tasks/{task.id}")
    page.locator('[data-tab-target="scalars"]').click()
    chart = page.locator("figure.scalar-chart", has_text="loss")
    lines = chart.locator("svg polyline.line:not(.raw)")
    expect(lines).to_have_count(2)
    expect(chart.locator(".chart-tools")).to_be_visible()
    assert x_ticks(chart)[0] == "0" and x_ticks(chart)[-1] == "20"

    chart.get_by_label("Log scale").check()
    ticks = chart.locator("svg text.tick:not(.x-tick)")
    expect(ticks).to_have_text(["1", "10", "100", "1,000", "10,000", "1e+5"])  # a tick per decade

    legend = chart.locator(".chart-legend [data-line]")
    legend.nth(1).click()  # hide "train" (series in name order: the HTML one comes first)
    expect(legend.nth(1)).to_have_attribute("aria-pressed", "false")
    expect(lines).to_have_count(1)
    expect(lines).to_have_attribute("data-name", HOSTILE)  # as text
    legend.nth(1).press("Enter")
    expect(lines).to_have_count(2)

    chart.locator(".chart-smooth input").fill("0.9")
    expect(chart.locator(".chart-smooth output")).to_have_text("0.9")
    expect(chart.locator("svg polyline.raw")).to_have_count(2)  # the raw lines stay, faded
    smooth_last = lines.first.get_attribute("points").split()[-1]
    raw_last = chart.locator("svg polyline.raw").first.get_attribute("points").split()[-1]
    assert smooth_last != raw_last  # the average lags the growing curve

    chart.get_by_label("x axis").select_option("rel")
    expect(chart.locator("svg text.x-tick").first).to_have_text("0s")
    expect(chart.locator("svg text.x-tick").last).to_contain_text("m")  # 9m 30s of reports
    chart.get_by_label("x axis").select_option("wall")
    assert all(re.fullmatch(r"\d\d:\d\d(:\d\d)?", t) for t in x_ticks(chart)), x_ticks(chart)

    chart.get_by_label("x axis").select_option("iter")
    box = chart.locator("svg").bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.4, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.7, y, steps=5)
    page.mouse.up()
    reset = chart.get_by_role("button", name="Reset zoom")
    expect(reset).to_be_visible()
    zoomed = [int(t) for t in x_ticks(chart)]
    assert 0 < zoomed[0] and zoomed[-1] < 20, zoomed
    web.shot("task-scalars-zoomed")
    reset.click()
    expect(reset).to_be_hidden()
    assert x_ticks(chart)[-1] == "20"
    chart.locator("svg").dblclick()  # double-click resets too (nothing zoomed: no change)
    assert x_ticks(chart)[0] == "0"


def test_scalar_charts_without_javascript_are_the_server_svg(
    browser: Any, ui_server: Served, store: TaskStore
) -> None:
    task = scalars_task(store)
    context = browser.new_context(java_script_enabled=False, base_url=ui_server.url)
    try:
        page = context.new_page()
        page.goto(f"/tasks/{task.id}")
        chart = page.locator("figure.scalar-chart", has_text="loss")
        expect(chart.locator("svg polyline.line")).to_have_count(2)
        expect(chart.locator("svg circle.mark")).to_have_count(40)
        expect(chart.locator(".chart-tools")).to_have_count(0)
        expect(chart.locator(".chart-legend")).to_contain_text(HOSTILE)
    finally:
        context.close()


def test_scalar_chart_embeds_thinned_points_with_times() -> None:
    points = [ScalarPoint("t", "s", i, float(i), 100.0 + i) for i in range(2000)]
    made = scalar_chart("t", [ScalarLine("s", list(reversed(points)), colour=3)])
    data = json.loads(made.scalars)
    (line,) = data["lines"]
    assert line["colour"] == 3 and made.series[0].colour == 3
    assert len(line["x"]) <= MAX_POINTS + 1 and line["x"][-1] == 1999  # sorted, last kept
    assert line["t"][0] == 100.0 and line["y"] == [float(x) for x in line["x"]]
    assert data["frame"] == {"left": made.left, "top": made.top, "right": made.right, "bottom": made.bottom}
