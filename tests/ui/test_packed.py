"""Plotly >= 6 packed arrays (``{"dtype", "bdata"}``) decoded for the server-drawn charts."""

from __future__ import annotations

import base64
import struct
import time

from playwright.sync_api import expect

from taskmill.core.model import PlotRecord, TaskRecord, new_id
from taskmill.server.ui.packed import unpack
from taskmill.store.base import TaskStore
from tests.ui.conftest import Watched


def packed(fmt: str, dtype: str, values: list[float], shape: str | None = None) -> dict[str, str]:
    raw = struct.pack(f"<{len(values)}{fmt}", *values)
    out = {"dtype": dtype, "bdata": base64.b64encode(raw).decode()}
    return out if shape is None else {**out, "shape": shape}


def test_unpack_decodes_every_dtype_and_2d_shapes() -> None:
    assert unpack(packed("d", "f8", [0.5, 1.5])) == [0.5, 1.5]
    assert unpack(packed("b", "i1", [-1, 2])) == [-1, 2]
    assert unpack(packed("I", "u4", [7, 8])) == [7, 8]
    assert unpack(packed("f", "f4", [0.25])) == [0.25]
    assert unpack(packed("h", "i2", [1, 2, 3, 4, 5, 6], "2, 3")) == [[1, 2, 3], [4, 5, 6]]
    figure = {"data": [{"type": "scatter", "x": packed("i", "i4", [0, 1]), "y": [1, 2]}], "layout": {}}
    assert unpack(figure) == {"data": [{"type": "scatter", "x": [0, 1], "y": [1, 2]}], "layout": {}}


def test_unpack_leaves_malformed_arrays_alone() -> None:
    for bad in (
        {"dtype": "c16", "bdata": "AAAA"},
        {"dtype": "f8", "bdata": "not base64!"},
        {"dtype": "f8", "bdata": base64.b64encode(b"abc").decode()},  # not a whole number of values
        packed("d", "f8", [1.0, 2.0, 3.0], "2, 2"),
    ):
        assert unpack(bad) == bad


def test_packed_heatmap_and_lines_are_drawn_without_javascript(web: Watched, store: TaskStore) -> None:
    task = store.create_task(TaskRecord(id=new_id(), name="packed", project="ui-tests", created=time.time()))
    z = packed("d", "f8", [1.0, 2.0, 3.0, 40.0], "2, 2")
    store.add_plot(
        task.id, PlotRecord("packed heat", "s", 0, "plotly", {"data": [{"type": "heatmap", "z": z}]})
    )
    line = {
        "type": "scatter",
        "mode": "lines",
        "x": packed("i", "i4", [0, 1, 2]),
        "y": packed("d", "f8", [3, 1, 2]),
    }
    store.add_plot(task.id, PlotRecord("packed line", "s", 0, "plotly", {"data": [line]}))
    page = web.page
    page.goto(f"/tasks/{task.id}")
    page.locator('[data-tab-target="scalars"]').click()
    heat = page.locator(".plots figure", has_text="packed heat")
    expect(heat.locator("tbody tr")).to_have_count(2)
    expect(heat.locator("td.hm5")).to_have_text(["40"])
    expect(page.locator(".plots figure.chart", has_text="packed line").locator("svg polyline")).to_have_count(
        1
    )
    expect(page.locator(".plots pre.code")).to_have_count(0)
