"""Plotly figures drawn by Plotly.js, served from the installed plotly package (optional extra):
a heatmap and a 3D scatter become Plotly plots, with no script errors (the CSP holds)."""

from __future__ import annotations

import time

import httpx
import pytest
from playwright.sync_api import expect

from taskmill.core.model import PlotRecord, TaskRecord, new_id
from taskmill.server.ui.plotlyjs import BUNDLE_URL, bundle_path
from taskmill.store.base import TaskStore
from tests.server.harness import Served
from tests.ui.conftest import Watched
from tests.ui.test_packed import packed

needs_plotly = pytest.mark.skipif(bundle_path() is None, reason="plotly is not installed (the ui extra)")


@needs_plotly
def test_heatmap_and_3d_scatter_are_drawn_by_plotly(
    web: Watched, store: TaskStore, ui_server: Served
) -> None:
    bundle = httpx.get(ui_server.url + BUNDLE_URL)
    assert bundle.status_code == 200 and "plotly" in bundle.text[:2000].lower()
    task = store.create_task(TaskRecord(id=new_id(), name="figures", project="ui-tests", created=time.time()))
    z = packed("d", "f8", [1.0, 2.0, 3.0, 4.0], "2, 2")
    store.add_plot(task.id, PlotRecord("heat", "s", 0, "plotly", {"data": [{"type": "heatmap", "z": z}]}))
    cloud = {
        "type": "scatter3d",
        "mode": "markers",
        "x": [0, 1, 2],
        "y": [1, 0, 2],
        "z": packed("d", "f8", [2, 1, 0]),
    }
    store.add_plot(task.id, PlotRecord("cloud", "s", 0, "plotly", {"data": [cloud], "layout": {}}))
    page = web.page
    page.goto(f"/tasks/{task.id}")
    page.locator('[data-tab-target="scalars"]').click()
    for title in ("heat", "cloud"):
        host = page.locator(".plotly-host", has=page.locator("figcaption", has_text=title)).first
        host.scroll_into_view_if_needed()
        expect(host.locator(".js-plotly-plot")).to_have_count(1)
    expect(page.locator(".plotly-host pre.code:visible")).to_have_count(0)  # the JSON fallback is hidden
    web.shot("task-plotly")


def test_bundle_route_says_when_plotly_is_missing(ui_server: Served) -> None:
    answer = httpx.get(ui_server.url + BUNDLE_URL)
    assert answer.status_code == (200 if bundle_path() else 404)
