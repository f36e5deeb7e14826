"""Signing in with an API key, session cookies, and refusal of cross-site and token-less POSTs."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from taskmill.core.states import TaskStatus
from taskmill.runs import commands
from taskmill.server.runner import free_port
from taskmill.server.ui import security
from taskmill.store.base import TaskStore
from tests.server.harness import Served
from tests.ui.conftest import Watched, open_page
from tests.ui.resources import training


@pytest.fixture
def queued_run(store: TaskStore) -> str:
    """A run waiting on the services queue (aborting it marks it stopped)."""
    pipe = training()
    pipe.debug_pipeline(progress=False)
    store.create_queue("services")
    return commands.enqueue_run(store, pipe.id, "services").id


@pytest.fixture
def signed_in(browser: Any, auth_server: Served) -> Iterator[Watched]:
    """A browser page signed in to ``auth_server`` with a fresh key."""
    _, secret = auth_server.store.create_api_key("browser")
    watched = open_page(browser, auth_server.url)
    page = watched.page
    page.goto("/pipelines")
    page.get_by_label("API key").fill(secret)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("h1")).to_have_text("Pipelines")
    yield watched
    watched.page.context.close()


@pytest.fixture
def attacker_site() -> Iterator[tuple[str, dict[str, str]]]:
    """Another origin on this host serving whatever HTML is put in the returned dict's "page"."""
    content = {"page": "<p>nothing</p>"}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = content["page"].encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", content
    server.shutdown()
    server.server_close()


def test_pages_need_a_signed_in_key(
    browser: Any, auth_server: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(security, "REVOCATION_CHECK_EVERY", 0.0)
    key_id, secret = auth_server.store.create_api_key("alice")
    watched = open_page(browser, auth_server.url)
    page = watched.page
    try:
        page.goto("/queues")
        expect(page).to_have_url(f"{auth_server.url}/signin?next=/queues")
        web_shot = watched.shot("signin")
        assert web_shot.exists()
        page.get_by_label("API key").fill("tm_not_a_real_key")
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator(".problem")).to_contain_text("unknown or was revoked")
        page.get_by_label("API key").fill(secret)
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator("h1")).to_have_text("Queues & agents")  # back where the viewer was going
        expect(page.locator(".who")).to_contain_text("alice")

        (cookie,) = [c for c in page.context.cookies() if c["name"] == security.SESSION_COOKIE]
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        assert secret not in cookie["value"]
        assert (
            page.evaluate("() => document.cookie").find(security.SESSION_COOKIE) < 0
        )  # not readable by scripts

        auth_server.store.revoke_api_key(key_id)
        page.goto("/pipelines")
        expect(page).to_have_url(f"{auth_server.url}/signin?next=/pipelines")
    finally:
        page.context.close()
    assert not watched.errors

    anonymous = httpx.get(f"{auth_server.url}/pipelines", headers={"Accept": "text/html"})
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/signin")
    stream = httpx.get(f"{auth_server.url}/runs/x/events", headers={"Accept": "text/event-stream"})
    assert stream.status_code == 401
    forged = httpx.post(f"{auth_server.url}/runs/x/abort", headers={"Origin": auth_server.url})
    assert forged.status_code == 401
    assert httpx.get(f"{auth_server.url}/static/app.css").status_code == 200  # assets need no key


def test_sign_out_ends_the_session(signed_in: Watched, auth_server: Served) -> None:
    page = signed_in.page
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{auth_server.url}/signin")
    page.goto("/pipelines")
    expect(page.get_by_label("API key")).to_be_visible()


def test_a_forged_cross_site_post_is_refused(
    signed_in: Watched,
    auth_server: Served,
    store: TaskStore,
    queued_run: str,
    attacker_site: tuple[str, dict[str, str]],
) -> None:
    page = signed_in.page
    site, content = attacker_site
    # a page on another origin that posts to the signed-in server as soon as it loads
    content["page"] = (
        f'<form id="f" method="post" action="{auth_server.url}/runs/{queued_run}/abort">'
        '<input name="csrf" value="guessed"></form><script>document.getElementById("f").submit()</script>'
    )
    page.goto(site)
    expect(page.locator("h1")).to_have_text("Refused")
    expect(page.locator(".problem")).to_contain_text("another origin")
    signed_in.shot("csrf-refused")
    assert store.get_task(queued_run).status == TaskStatus.queued

    # same origin but without the page's token (e.g. a script injected elsewhere): refused too
    status = page.evaluate(
        "async (url) => (await fetch(url, {method: 'POST', body: new URLSearchParams({csrf: 'x'})})).status",
        f"{auth_server.url}/runs/{queued_run}/abort",
    )
    assert status == 403
    assert store.get_task(queued_run).status == TaskStatus.queued

    # the page's own button, with its token, works
    page.goto(f"/runs/{queued_run}")
    page.locator("#abort-form button").click()
    expect(page.locator(".flash-ok")).to_contain_text("Aborted")
    assert store.get_task(queued_run).status == TaskStatus.stopped


def test_posts_without_origin_or_token_are_refused_when_auth_is_off(
    ui_server: Served, queued_run: str
) -> None:
    url = f"{ui_server.url}/runs/{queued_run}/abort"
    with httpx.Client() as client:
        page = client.get(f"{ui_server.url}/runs/{queued_run}")
        token = page.cookies[security.CSRF_COOKIE]
        assert client.post(url, data={"csrf": token}).status_code == 403  # no Origin, no Referer
        evil = client.post(url, data={"csrf": token}, headers={"Origin": "http://evil.example"})
        assert evil.status_code == 403
        wrong = client.post(url, data={"csrf": "nope"}, headers={"Origin": ui_server.url})
        assert wrong.status_code == 403
        assert ui_server.store.get_task(queued_run).status == TaskStatus.queued
        ok = client.post(url, data={"csrf": token}, headers={"Origin": ui_server.url}, follow_redirects=False)
        assert ok.status_code == 303
    assert ui_server.store.get_task(queued_run).status == TaskStatus.stopped
