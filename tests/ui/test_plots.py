"""The Scalars tab of a task with reported plots: histograms and scatter plots as SVG charts, a
confusion matrix as a table of numbers, an uploaded image shown, a media file as a download link.
The screenshot goes to test-output/ui/task-plots.png."""

from __future__ import annotations

import io

import numpy as np
from playwright.sync_api import expect

from taskmill import Task
from taskmill.core.model import PlotRecord
from taskmill.server.ui.charts import nice_ticks
from taskmill.server.ui.details import plot_views
from taskmill.store.base import TaskStore
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
    media = plots.locator("figure", has_text="audio").locator("a[download]")
    expect(media).to_have_attribute("href", f"/tasks/{task.id}/artifacts/debug/audio/clip/0")

    image = plots.locator("img.debug-image")
    expect(image).to_have_attribute("alt", "samples · gradient")
    image.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    assert image.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [64, 48]
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
