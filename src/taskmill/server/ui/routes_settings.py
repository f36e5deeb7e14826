"""The settings page of the web UI: who the viewer is (their key's name and role) and the API keys.

* ``GET /settings``: the viewer's key and a table of keys. An admin key sees every key, revoked
  ones included; a user key sees only keys with its own name (its name is the only link between a
  person and their keys the store records). With authentication off there is no viewer key and,
  as on the API, everybody may manage keys.
* ``POST /settings/keys``: create a key (admins only, CSRF and same origin checked as every UI
  action). The answer is the page itself showing the new secret once: it is never put in a
  cookie, a URL or a redirect, and the store keeps only its salted hash.
* ``POST /settings/keys/{key_id}/revoke``: revoke a key (admins only; idempotent, as the store's
  :meth:`~taskmill.store.base.TaskStore.revoke_api_key`). Sessions signed in with it end at their
  next revocation check (:data:`~taskmill.server.ui.security.REVOCATION_CHECK_EVERY`).

The store calls are the ones behind ``/api/v1/keys`` (:mod:`taskmill.server.routes_admin`).
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from taskmill.errors import TaskmillError
from taskmill.server.ui.context import Ui
from taskmill.server.ui.routes_actions import read_form
from taskmill.server.ui.security import Forbidden, Viewer
from taskmill.store.api_keys import ROLES, USER_ROLE, check_role
from taskmill.store.base import ApiKeyRecord, TaskStore

#: Longest key name accepted (a label; the store takes any text).
MAX_NAME = 200


@dataclass(frozen=True)
class SettingsPage:
    """What the settings page shows: the viewer's key (None with auth off), whether the viewer may
    manage keys, and the keys listed (newest first)."""

    me: ApiKeyRecord | None
    can_manage: bool
    keys: list[ApiKeyRecord]
    roles: tuple[str, ...] = ROLES


def settings_page(store: TaskStore, viewer: Viewer) -> SettingsPage:
    """The page data for ``viewer`` (one store read of the key list)."""
    every = store.list_api_keys()
    me = next((k for k in every if k.id == viewer.key_id), None) if viewer.signed_in else None
    can_manage = not viewer.signed_in or (me is not None and me.is_admin)
    shown = every if can_manage else [k for k in every if me is not None and k.name == me.name]
    return SettingsPage(me, can_manage, sorted(shown, key=lambda k: k.created, reverse=True))


def _require_admin(store: TaskStore, viewer: Viewer, action: str) -> None:
    """Refuse (:class:`Forbidden`) a key-changing action of a user key."""
    if not settings_page(store, viewer).can_manage:
        raise Forbidden(f"only admin keys may {action}; you are signed in with a user key")


def _create(store: TaskStore, viewer: Viewer, name: str, role: str) -> tuple[str, str]:
    _require_admin(store, viewer, "create API keys")
    if len(name) > MAX_NAME:
        raise ValueError(f"a key name has at most {MAX_NAME} characters")
    return store.create_api_key(name, role=check_role(role))


def _revoke(store: TaskStore, viewer: Viewer, key_id: str) -> None:
    _require_admin(store, viewer, "revoke API keys")
    store.revoke_api_key(key_id)


def settings_router(ui: Ui) -> APIRouter:
    """The routes of the settings page of ``ui``."""
    router = APIRouter(include_in_schema=False)

    def show(request: Request, viewer: Viewer, status: int = 200, **extra: object) -> Response:
        data = settings_page(ui.store, viewer)
        return ui.page(request, "settings.html", viewer, status, s=data, title="Settings", **extra)

    @router.get("/settings")
    async def settings(request: Request) -> Response:
        """The viewer's key and the keys they may see."""
        viewer = ui.guard.require(request)
        return await run_in_threadpool(show, request, viewer)

    @router.post("/settings/keys")
    async def create_key(request: Request) -> Response:
        """Create a key and show its secret, once."""
        viewer = ui.guard.require(request)
        form = await read_form(request)
        ui.guard.check_post(request, viewer, form.get("csrf", ""))
        name = form.get("name", "").strip()
        role = form.get("role", USER_ROLE).strip() or USER_ROLE
        try:
            key_id, secret = await run_in_threadpool(_create, ui.store, viewer, name, role)
        except (TaskmillError, ValueError) as exc:
            return await run_in_threadpool(show, request, viewer, 400, problem=f"No key created: {exc}")
        return await run_in_threadpool(
            show, request, viewer, 201, created={"id": key_id, "name": name, "role": role, "secret": secret}
        )

    @router.post("/settings/keys/{key_id}/revoke")
    async def revoke_key(request: Request, key_id: str) -> Response:
        """Revoke a key; its sessions and clients are refused from now on."""
        viewer = ui.guard.require(request)
        form = await read_form(request)
        ui.guard.check_post(request, viewer, form.get("csrf", ""))
        try:
            await run_in_threadpool(_revoke, ui.store, viewer, key_id)
        except (TaskmillError, ValueError) as exc:
            return ui.redirect(request, "/settings", f"Not revoked: {exc}", ok=False)
        own = " It was your own key: you will be signed out." if key_id == viewer.key_id else ""
        return ui.redirect(request, "/settings", f"Key {key_id} revoked.{own}")

    return router
