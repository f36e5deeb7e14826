"""Plotly figures drawn by Plotly.js, served from the installed plotly package (optional extra):
a heatmap and a 3D scatter become Plotly plots, with no script errors and no CSP violation
(``script-src`` stays ``'self'``; Plotly's styles are allowed as :mod:`~taskmill.server.ui.plotlyjs` says)."""

from __future__ import annotations

import base64
import hashlib
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from taskmill.core.model import PlotRecord, TaskRecord, new_id
from taskmill.server.ui.plotlyjs import (
    BUNDLE_URL,
    EMPTY_STYLE,
    bundle_path,
    plotly_policy,
    style_hash,
    style_sources,
)
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
    console: list[str] = []
    page.on("console", lambda msg: console.append(f"{msg.type}: {msg.text}"))
    page.add_init_script(
        "window.__csp = []; document.addEventListener('securitypolicyviolation',"
        " e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + (e.sample || '')));"
    )
    page.goto(f"/tasks/{task.id}")
    page.locator('[data-tab-target="scalars"]').click()
    for title in ("heat", "cloud"):
        host = page.locator(".plotly-host", has=page.locator("figcaption", has_text=title)).first
        host.scroll_into_view_if_needed()
        expect(host.locator(".js-plotly-plot")).to_have_count(1)
    expect(page.locator(".plotly-host pre.code:visible")).to_have_count(0)  # the JSON fallback is hidden
    page.wait_for_timeout(300)  # violations are reported asynchronously
    violations = page.evaluate("window.__csp")
    assert violations == [], f"CSP violations: {violations}"
    assert not [m for m in console if "Content Security Policy" in m], console
    csp = httpx.get(ui_server.url + f"/tasks/{task.id}").headers["content-security-policy"]
    assert "script-src 'self';" in csp and "style-src-attr 'unsafe-inline'" in csp  # scripts: never inline
    assert (
        "style-src-elem 'self' 'sha256-" in csp
        and "'unsafe-inline'" not in csp.split("style-src-elem")[1].split(";")[0]
    )
    plain = store.create_task(
        TaskRecord(id=new_id(), name="no figures", project="ui-tests", created=time.time())
    )
    strict = httpx.get(ui_server.url + f"/tasks/{plain.id}").headers["content-security-policy"]
    assert "style-src 'self';" in strict and "unsafe-inline" not in strict  # only figure pages widen
    web.shot("task-plotly")


def test_plotly_policy_keeps_scripts_strict_and_hashes_the_style_elements(tmp_path: Path) -> None:
    bundle = tmp_path / "plotly.min.js"
    css = ".maplibregl-map{font:12px/20px Helvetica}"
    bundle.write_text(
        f'x;var e=document.createElement("style");e.id="{"ab" * 32}",'
        f"e.textContent='{css}',document.head.appendChild(e)"
    )
    sources = style_sources(bundle)
    expected = "'sha256-" + base64.b64encode(hashlib.sha256(css.encode()).digest()).decode() + "'"
    assert sources == (EMPTY_STYLE, expected) and EMPTY_STYLE == style_hash("")
    policy = plotly_policy("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'", sources)
    assert policy == (
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        f"style-src-elem 'self' {EMPTY_STYLE} {expected}; style-src-attr 'unsafe-inline'; img-src 'self'"
    )
    with pytest.raises(ValueError):
        plotly_policy("default-src 'none'", sources)


def test_bundle_route_says_when_plotly_is_missing(ui_server: Served) -> None:
    answer = httpx.get(ui_server.url + BUNDLE_URL)
    assert answer.status_code == (200 if bundle_path() else 404)
