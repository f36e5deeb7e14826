"""Read-only pages of the web UI: pipelines, runs of a pipeline, a run (DAG, timeline, step info),
the comparison of two runs, queues and agents; plus the JSON and fragments the run page loads.

Every handler first asks :class:`~taskmill.server.ui.security.Guard` for the viewer (which raises
``SignInRequired`` when auth is on and nobody signed in) and renders errors as pages.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.responses import Response

from taskmill.errors import TaskmillError
from taskmill.runs import commands
from taskmill.runs.records import get_run
from taskmill.server.ui import details, views
from taskmill.server.ui.context import Ui
from taskmill.server.ui.graph import GraphOptions


def _no_store(data: Any) -> JSONResponse:
    return JSONResponse(data, headers={"Cache-Control": "no-store"})


def pages_router(ui: Ui) -> APIRouter:
    """The page routes of ``ui``."""
    router = APIRouter(include_in_schema=False)

    @router.get("/")
    def home(request: Request) -> Response:
        """The UI starts at the pipelines."""
        ui.guard.require(request)
        return RedirectResponse("/pipelines", status_code=303)

    @router.get("/pipelines")
    def pipelines(request: Request) -> Response:
        """One card per pipeline: last run, run counts, tags; search and filters in the page."""
        viewer = ui.guard.require(request)
        try:
            items = commands.list_pipelines(ui.store)
        except (TaskmillError, ValueError) as exc:
            return ui.error(request, viewer, exc)
        return ui.page(request, "pipelines.html", viewer, pipelines=items, title="Pipelines")

    @router.get("/pipelines/runs")
    def runs(request: Request, name: str, project: str | None = None) -> Response:
        """The runs table of one pipeline, with the new-run form."""
        viewer = ui.guard.require(request)
        try:
            data = views.runs_page(ui.store, project or None, name)
        except (TaskmillError, ValueError) as exc:
            return ui.error(request, viewer, exc)
        return ui.page(request, "runs.html", viewer, data=data, title=f"{name} · runs")

    @router.get("/runs/{run_id}")
    def run(
        request: Request,
        run_id: str,
        group: str | None = None,
        expand: str | None = None,
        collapse: str | None = None,
    ) -> Response:
        """A run: header, DAG (live), run info, step info, timeline."""
        viewer = ui.guard.require(request)
        options = GraphOptions.parse(group, expand, collapse)
        try:
            data = views.run_page(ui.store, ui.runs, run_id, options)
        except (TaskmillError, ValueError) as exc:
            return ui.error(request, viewer, exc)
        return ui.page(request, "run.html", viewer, data=data, title=data.detail.summary.name)

    @router.get("/runs/{run_id}/graph.json")
    def graph(
        request: Request,
        run_id: str,
        group: str | None = None,
        expand: str | None = None,
        collapse: str | None = None,
    ) -> Response:
        """The DAG after the viewer collapsed or expanded stages or groups."""
        ui.guard.require(request)
        try:
            return _no_store(views.graph_data(ui.runs, run_id, GraphOptions.parse(group, expand, collapse)))
        except (TaskmillError, ValueError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=404)

    @router.get("/runs/{run_id}/timeline.json")
    def timeline(request: Request, run_id: str) -> Response:
        """Gantt rows: when each step was launched, started and ended."""
        ui.guard.require(request)
        try:
            return _no_store(views.timeline(ui.store, ui.runs, run_id))
        except (TaskmillError, ValueError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=404)

    @router.get("/runs/{run_id}/step")
    def step(request: Request, run_id: str, name: str) -> Response:
        """The step info panel (an HTML fragment)."""
        viewer = ui.guard.require(request)
        try:
            panel = details.step_panel(ui.store, ui.runs, run_id, name)
        except (TaskmillError, ValueError) as exc:
            return ui.fragment(request, "_problem.html", viewer, message=str(exc))
        return ui.fragment(request, "_step.html", viewer, p=panel)

    @router.get("/runs/{run_id}/info")
    def info(request: Request, run_id: str) -> Response:
        """The run info panel (an HTML fragment; refreshed when the run ends)."""
        viewer = ui.guard.require(request)
        try:
            run = get_run(ui.store, run_id)
            data = views.run_info(ui.store, run)
        except (TaskmillError, ValueError) as exc:
            return ui.fragment(request, "_problem.html", viewer, message=str(exc))
        return ui.fragment(request, "_run_info.html", viewer, info=data, run=run)

    @router.get("/queues")
    def queues(request: Request) -> Response:
        """Queues with their depth and waiting tasks, agents with what they run."""
        viewer = ui.guard.require(request)
        try:
            data = views.queues_page(ui.store)
        except (TaskmillError, ValueError) as exc:
            return ui.error(request, viewer, exc)
        return ui.page(request, "queues.html", viewer, data=data, title="Queues and agents")

    return router
