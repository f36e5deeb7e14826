"""The web UI of ``taskmill server``: pipelines, runs, a live DAG, tasks, queues and agents.

Server-rendered pages (Jinja2 templates, autoescaped) with hand-written CSS and JavaScript in
``static/``: no Node toolchain, no third-party front-end code. The DAG is laid out in Python
(:mod:`.layout`, :mod:`.graph`) and drawn and kept live by ``static/dag.js`` from server-sent
events (:mod:`.live`), patching only the nodes that changed.

:func:`mount` adds the UI to an app built by :func:`taskmill.server.app.create_app`. Layout of
the modules: ``security`` (sessions, CSRF), ``context`` (per-app state, rendering), ``views`` and
``details`` (page data), ``charts``, ``graph``/``layout`` (the DAG), ``live`` (SSE), ``routes_*``.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response

from taskmill.artifacts.storage import ArtifactStore
from taskmill.server.ui.context import Ui
from taskmill.server.ui.experiments import experiments_router
from taskmill.server.ui.live import Feed
from taskmill.server.ui.plotlyjs import plotly_router
from taskmill.server.ui.routes_actions import actions_router
from taskmill.server.ui.routes_automation import automation_router
from taskmill.server.ui.routes_compare import compare_router
from taskmill.server.ui.routes_pages import pages_router
from taskmill.server.ui.routes_settings import settings_router
from taskmill.server.ui.routes_tasks import tasks_router
from taskmill.server.ui.runcache import RunCache
from taskmill.server.ui.security import Forbidden, Guard, SignInRequired
from taskmill.server.ui.templating import HERE, Templates
from taskmill.store.base import TaskStore

__all__ = ["mount"]


def mount(app: FastAPI, *, store: TaskStore, artifacts: ArtifactStore, auth: bool = True) -> None:
    """Serve the web UI of ``store`` from ``app`` at ``/`` (static files under ``/static``).

    Args:
        app: The server app (its ``/api/v1`` routes are left alone).
        store: The task store the pages read and the actions change.
        artifacts: Where artifact downloads are read from.
        auth: Require signing in with an API key (the app's API setting: ``create_app(...,
            auth=False)`` serves the UI without sign-in).
    """
    enabled = auth
    ui = Ui(
        store,
        artifacts,
        Guard(store, enabled=enabled),
        Templates(auth=enabled),
        Feed(store, app.state),
        RunCache(store),
    )
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="ui-static")
    app.include_router(compare_router(ui))  # before pages_router: it answers /compare
    app.include_router(settings_router(ui))
    app.include_router(pages_router(ui))
    app.include_router(actions_router(ui))
    app.include_router(experiments_router(ui))
    app.include_router(plotly_router(ui.templates.plotly_path))
    app.include_router(tasks_router(ui))
    app.include_router(automation_router(ui))

    async def sign_in_first(request: Request, exc: Exception) -> Response:
        if "text/html" in request.headers.get("accept", ""):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/signin?next={_quote(target)}", status_code=303)
        return JSONResponse({"detail": "sign in first"}, status_code=401)

    async def refuse(request: Request, exc: Exception) -> Response:
        viewer = ui.guard.viewer(request)
        return ui.page(request, "error.html", viewer, 403, message=str(exc), status=403)

    app.add_exception_handler(SignInRequired, sign_in_first)
    app.add_exception_handler(Forbidden, refuse)


def _quote(text: str) -> str:
    return quote(text, safe="/")
