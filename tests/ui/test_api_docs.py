"""``/docs``: the API reference renders in a real browser with no request leaving the server."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

import httpx
from playwright.sync_api import expect

from tests.server.harness import Served
from tests.ui.conftest import open_page


def test_api_docs_render_offline_from_the_server_alone(browser: Any, ui_server: Served) -> None:
    web = open_page(browser, ui_server.url)
    page = web.page
    own = urlparse(ui_server.url).netloc
    elsewhere: list[str] = []

    def only_this_server(route: Any) -> None:
        if urlparse(route.request.url).netloc == own:
            route.continue_()
        else:  # a CDN or anything else: what an offline network does to it
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", only_this_server)
    try:
        page.goto("/docs")
        # Swagger UI drew the operations of our OpenAPI document
        expect(page.locator(".opblock-summary", has_text="/api/v1/tasks").first).to_be_visible()
        expect(page.locator(".info .title")).to_contain_text("taskmill")
        web.shot("api-docs")
    finally:
        page.context.close()
    assert not elsewhere, f"/docs fetched from outside the server: {elsewhere}"
    assert not web.errors, f"script errors on /docs: {web.errors}"

    head = httpx.get(f"{ui_server.url}/docs", timeout=10)
    assert head.status_code == 200 and "script-src 'self'" in head.headers["content-security-policy"]
    assert "cdn" not in head.text.lower()
