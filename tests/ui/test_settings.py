"""The settings page: who the viewer is, their keys, and admins creating and revoking keys (the
secret shown once), refused for user keys, token-less posts and other origins."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from taskmill.server.ui import security
from taskmill.server.ui.routes_settings import settings_page
from taskmill.server.ui.security import Viewer
from taskmill.store.base import TaskStore
from tests.server.harness import Served
from tests.ui.conftest import Watched, open_page

SECRET = re.compile(r"^tm_[0-9a-f]{16}_[A-Za-z0-9_\-]{20,128}$")


def sign_in(browser: Any, server: Served, secret: str) -> Watched:
    watched = open_page(browser, server.url)
    page = watched.page
    page.goto("/settings")
    page.get_by_label("API key").fill(secret)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("h1")).to_have_text("Settings")
    return watched


def test_admin_creates_and_revokes_a_key(
    browser: Any, auth_server: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(security, "REVOCATION_CHECK_EVERY", 0.0)
    store = auth_server.store
    store.create_api_key("root", role="admin")
    _, root_secret = store.create_api_key("root-2", role="admin")
    admin = sign_in(browser, auth_server, root_secret)
    page = admin.page
    try:
        expect(page.locator("#me-name")).to_have_text("root-2")
        expect(page.locator("#me-role")).to_have_text("admin")
        expect(page.locator(".keys-table tbody tr")).to_have_count(2)  # an admin sees every key
        form = page.locator("#new-key")
        form.get_by_label("Name").fill("<b>ci</b> agent")
        form.get_by_label("Role").select_option("user")
        form.get_by_role("button", name="Create key").click()
        secret = page.locator("#new-secret").inner_text()
        assert SECRET.match(secret), secret
        found = store.find_api_key(secret)
        assert found is not None and found.name == "<b>ci</b> agent" and found.role == "user"
        row = page.locator(f'.keys-table tr[data-key="{found.id}"]')
        expect(row).to_contain_text("<b>ci</b> agent")  # the name as text
        admin.shot("settings-new-key")

        page.goto("/settings")  # shown once: never again
        expect(page.locator("#new-secret")).to_have_count(0)
        assert secret not in page.content()
        assert all(secret not in c["value"] for c in page.context.cookies())

        user = sign_in(browser, auth_server, secret)
        try:
            upage = user.page
            expect(upage.locator("#me-role")).to_have_text("user")
            expect(upage.locator("#keys h2")).to_have_text("Your keys")
            expect(upage.locator(".keys-table tbody tr")).to_have_count(1)  # only keys of its name
            expect(upage.locator("#new-key")).to_have_count(0)
            expect(upage.get_by_role("button", name="Revoke")).to_have_count(0)
            # a user key posting the form anyway (with its valid CSRF token) is refused
            status = upage.evaluate(
                """async () => {
                  const csrf = document.querySelector('meta[name="csrf-token"]').content;
                  const r = await fetch('/settings/keys', {method: 'POST',
                    headers: {'Content-Type': 'application/x-www-form-urlencoded'},
                    body: 'csrf=' + encodeURIComponent(csrf) + '&name=mine&role=admin'});
                  return r.status;
                }"""
            )
            assert status == 403
            assert [k.name for k in store.list_api_keys()].count("mine") == 0

            page.goto("/settings")
            row.get_by_role("button", name="Revoke").click()  # the confirmation box is accepted
            expect(page.locator(".flash-ok")).to_contain_text(f"Key {found.id} revoked")
            expect(row).to_have_class("revoked")
            expect(row.get_by_role("button", name="Revoke")).to_have_count(0)
            revoked = store.find_api_key(secret)
            assert revoked is not None and revoked.is_revoked
            upage.goto("/settings")  # the revoked key's session is over
            expect(upage).to_have_url(f"{auth_server.url}/signin?next=/settings")
        finally:
            user.page.context.close()
    finally:
        page.context.close()
    assert not admin.errors and not admin.alerts


def test_key_posts_need_the_token_and_this_origin(signed_in: Watched, auth_server: Served) -> None:
    page = signed_in.page
    page.goto("/settings")
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    before = len(auth_server.store.list_api_keys())
    no_token = httpx.post(
        f"{auth_server.url}/settings/keys",
        data={"name": "x", "role": "admin"},
        headers={"Origin": auth_server.url},
        cookies=cookies,
    )
    assert no_token.status_code == 403
    csrf = page.locator('meta[name="csrf-token"]').get_attribute("content")
    elsewhere = httpx.post(
        f"{auth_server.url}/settings/keys",
        data={"name": "x", "role": "admin", "csrf": csrf or ""},
        headers={"Origin": "http://evil.example"},
        cookies=cookies,
    )
    assert elsewhere.status_code == 403
    assert len(auth_server.store.list_api_keys()) == before


@pytest.fixture
def signed_in(browser: Any, auth_server: Served) -> Any:
    _, secret = auth_server.store.create_api_key("browser", role="admin")
    watched = sign_in(browser, auth_server, secret)
    yield watched
    watched.page.context.close()


def test_open_server_lets_everyone_manage_keys(web: Watched, store: TaskStore) -> None:
    page = web.page
    page.goto("/settings")
    expect(page.locator("#whoami")).to_contain_text("without authentication")
    form = page.locator("#new-key")
    form.get_by_label("Name").fill("agent")
    form.get_by_label("Role").select_option("admin")
    form.get_by_role("button", name="Create key").click()
    secret = page.locator("#new-secret").inner_text()
    found = store.find_api_key(secret)
    assert found is not None and found.role == "admin"
    form = page.locator("#new-key")
    form.get_by_label("Name").fill("x" * 201)  # over maxlength: the browser cuts it
    assert len(form.get_by_label("Name").input_value()) == 200


def test_user_sees_only_keys_of_its_name(store: TaskStore) -> None:
    admin_id, _ = store.create_api_key("admin", role="admin")
    mine, _ = store.create_api_key("alice", role="user")
    older, _ = store.create_api_key("alice", role="user")
    store.create_api_key("bob", role="user")
    data = settings_page(store, Viewer(mine, "alice", "t", True))
    assert data.me is not None and data.me.id == mine and not data.can_manage
    assert {k.id for k in data.keys} == {mine, older}
    every = settings_page(store, Viewer(admin_id, "admin", "t", True))
    assert every.can_manage and len(every.keys) == 4
    open_server = settings_page(store, Viewer("", "", "t", False))
    assert open_server.me is None and open_server.can_manage
