"""The automation pages of the web UI (read-only): the overview of schedules, triggers and
optimizations, a page per scheduler and per trigger service (entries, recent fires and skips
with their reasons), and a page per optimization (trials table, objective-vs-parameter charts).

Every handler asks :class:`~taskmill.server.ui.security.Guard` for the viewer first (which raises
``SignInRequired`` when auth is on and nobody signed in) and renders errors as pages: 404 for an
unknown id, 400 for a task that is not what the URL says.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from taskmill.errors import TaskmillError
from taskmill.runs.automation import ServiceKind
from taskmill.server.ui import automation_views
from taskmill.server.ui.context import Ui


def automation_router(ui: Ui) -> APIRouter:
    """The ``/automation`` routes of ``ui``."""
    router = APIRouter(include_in_schema=False)

    @router.get("/automation")
    def overview(request: Request) -> Response:
        """Schedulers (next run, last fire), trigger services (recent events), optimizations."""
        viewer = ui.guard.require(request)
        try:
            data = automation_views.automation_page(ui.store)
        except (TaskmillError, ValueError) as exc:
            return ui.error(request, viewer, exc)
        return ui.page(request, "automation.html", viewer, data=data, title="Automation")

    def service(request: Request, task_id: str, kind: ServiceKind) -> Response:
        viewer = ui.guard.require(request)
        try:
            data = automation_views.service_page(ui.store, task_id, kind)
        except (TaskmillError, ValueError) as exc:
            return ui.error(request, viewer, exc)
        title = f"{data.view.task.name} · {'schedule' if kind == 'scheduler' else 'triggers'}"
        return ui.page(
            request,
            "automation_service.html",
            viewer,
            data=data,
            kind=kind,
            until=automation_views.until,
            title=title,
        )

    @router.get("/automation/schedules/{task_id}")
    def schedule(request: Request, task_id: str) -> Response:
        """A scheduler: its entries (schedule, next run, fires) and its recent fires and skips."""
        return service(request, task_id, "scheduler")

    @router.get("/automation/triggers/{task_id}")
    def trigger(request: Request, task_id: str) -> Response:
        """A trigger service: what each trigger watches, and the objects it fired for or skipped."""
        return service(request, task_id, "trigger")

    @router.get("/automation/optimizations/{task_id}")
    def optimization(request: Request, task_id: str) -> Response:
        """An optimization: setup, trials (best first) and objective-vs-parameter charts."""
        viewer = ui.guard.require(request)
        try:
            data = automation_views.optimization_page(ui.store, task_id)
        except (TaskmillError, ValueError) as exc:
            return ui.error(request, viewer, exc)
        return ui.page(
            request,
            "automation_optimization.html",
            viewer,
            data=data,
            title=f"{data.view.task.name} · trials",
        )

    return router
