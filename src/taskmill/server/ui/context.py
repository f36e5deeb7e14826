"""The web UI of one app: its store, sessions, templates and event feed, and how pages answer.

One :class:`Ui` is built per app by :func:`taskmill.server.ui.mount`; route modules receive it.
Every HTML answer goes through :meth:`Ui.page`, which adds the security headers (a strict
Content-Security-Policy: scripts and styles only from this server, no inline script) and, with
authentication off, the double-submit CSRF cookie.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from taskmill.artifacts.storage import ArtifactStore
from taskmill.errors import NotFoundError, TaskmillError
from taskmill.server.ui.live import Feed
from taskmill.server.ui.runcache import RunCache
from taskmill.server.ui.security import Guard, Viewer, set_cookie
from taskmill.server.ui.templating import Templates
from taskmill.store.base import TaskStore

FLASH_COOKIE = "tm_flash"
#: Sent with every UI page.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


@dataclass
class Ui:
    """Everything the UI's routes share (one per app; nothing module-level)."""

    store: TaskStore
    artifacts: ArtifactStore
    guard: Guard
    templates: Templates
    feed: Feed
    runs: RunCache

    def page(
        self, request: Request, name: str, viewer: Viewer | None, status_code: int = 200, **context: Any
    ) -> HTMLResponse:
        """Render template ``name``; shows (and clears) a pending flash message."""
        flash = request.cookies.get(FLASH_COOKIE)
        message = None
        if flash:
            kind, _, text = unquote(flash).partition(":")
            message = {"kind": kind if kind in ("ok", "error") else "ok", "text": text}
        response = self.templates.page(request, name, viewer, status_code, flash=message, **context)
        if flash:
            response.delete_cookie(FLASH_COOKIE, path="/")
        if viewer is not None:
            self.guard.ensure_csrf_cookie(request, response, viewer)
        response.headers.update(SECURITY_HEADERS)
        return response

    def fragment(self, request: Request, name: str, viewer: Viewer, **context: Any) -> HTMLResponse:
        """Render a partial template (inserted into a page by its script)."""
        response = self.templates.page(request, name, viewer, **context)
        response.headers.update(SECURITY_HEADERS)
        return response

    def error(self, request: Request, viewer: Viewer | None, exc: Exception) -> HTMLResponse:
        """An error page saying what went wrong (404 for missing things, else 400)."""
        status = 404 if isinstance(exc, NotFoundError) else 400
        if not isinstance(exc, (TaskmillError, ValueError, KeyError)):
            status = 500
        return self.page(request, "error.html", viewer, status, message=str(exc), status=status)

    def redirect(self, request: Request, url: str, message: str = "", *, ok: bool = True) -> Response:
        """A 303 to ``url`` that shows ``message`` on the next page."""
        response = RedirectResponse(url, status_code=303)
        if message:
            value = quote(f"{'ok' if ok else 'error'}:{message[:600]}")
            set_cookie(request, response, FLASH_COOKIE, value, max_age=60)
        return response
