"""The task page, artifact and model downloads, and the UI's live streams (SSE).

Downloads go through the signed-in session (a browser cannot send the API's bearer key on a
link); local files are streamed directly, remote ones through the server's artifact cache, and
only from locations the server may read (:mod:`taskmill.server.confine`): a record pointing
elsewhere is still listed on the task page, but its download is refused with an error page.
"""

from __future__ import annotations

import mimetypes
import os
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import FileResponse, PlainTextResponse
from fastapi.sse import EventSourceResponse
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from taskmill.artifacts import transfer
from taskmill.core.model import ArtifactRecord
from taskmill.errors import NotFoundError, TaskmillError
from taskmill.server.confine import confinement_of
from taskmill.server.ui import details
from taskmill.server.ui.context import SECURITY_HEADERS, Ui
from taskmill.server.ui.live import log_events, ping_events, run_events
from taskmill.server.ui.plotlyjs import plotly_policy, style_sources

#: Event kinds that refresh each live region (``/live?region=...``).
REGIONS: dict[str, frozenset[str]] = {
    "pipelines": frozenset({"task.created", "task.status"}),
    "runs": frozenset({"task.created", "task.status", "pipeline.nodes"}),
    "queues": frozenset({"queue.changed", "worker.changed", "task.status"}),
}
_STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
#: Image types a browser only decodes (no script in them); SVG is not one.
_INLINE_IMAGES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "image/avif"})
#: Media answers are never sniffed into another type and, opened on their own, run nothing.
_MEDIA_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cache-Control": "private, max-age=300",
}


def _last_id(header: str | None, default: int) -> int:
    return int(header) if header is not None and header.strip().isdigit() else default


def tasks_router(ui: Ui) -> APIRouter:
    """The task page, download and stream routes of ``ui``."""
    router = APIRouter(include_in_schema=False)
    bundle = ui.templates.plotly_path
    #: Only task pages that draw Plotly figures get Plotly's style allowances.
    plotly_csp = (
        plotly_policy(SECURITY_HEADERS["Content-Security-Policy"], style_sources(bundle)) if bundle else ""
    )

    @router.get("/tasks/{task_id}")
    def task(request: Request, task_id: str, log: str = "") -> Response:
        """Any task: parameters, configuration, artifacts, scalars, console, script."""
        viewer = ui.guard.require(request)
        try:
            data = details.task_page(ui.store, task_id, full_log=log == "all")
        except (TaskmillError, ValueError) as exc:
            return ui.error(request, viewer, exc)
        response = ui.page(request, "task.html", viewer, t=data, title=data.record.name)
        if plotly_csp and any(p.figure for p in data.plots):
            response.headers["Content-Security-Policy"] = plotly_csp
        return response

    def stored(request: Request, task_id: str, name: str) -> tuple[ArtifactRecord, str]:
        """The record and a local path of artifact ``name`` of ``task_id``, read only from where
        the server may read (raises NotFoundError or ValueError)."""
        record = next((a for a in ui.store.get_artifacts(task_id) if a.name == name), None)
        if record is None:
            raise NotFoundError(f"task {task_id} has no artifact named '{name}'")
        path = confinement_of(request.app.state, ui.artifacts.default_uri).resolve(record.uri)
        if transfer.is_local(record.uri):
            if not os.path.isfile(path):
                raise NotFoundError(f"the bytes of artifact '{name}' are gone from {record.uri}")
            return record, path
        return record, ui.artifacts.local_copy(record, extract_archive=False)

    @router.get("/tasks/{task_id}/artifacts/{name:path}")
    def artifact(request: Request, task_id: str, name: str) -> Response:
        """Download an artifact's stored bytes."""
        viewer = ui.guard.require(request)
        try:
            record, path = stored(request, task_id, name)
        except (TaskmillError, ValueError) as exc:
            return ui.error(request, viewer, exc)
        return FileResponse(
            path, media_type="application/octet-stream", filename=transfer.basename(record.uri) or name
        )

    @router.get("/tasks/{task_id}/media/{name:path}")
    def media(request: Request, task_id: str, name: str) -> Response:
        """An image or media file shown in the page: raster images, audio and video with their own
        type; anything else (SVG, HTML, unknown) as a download, so nothing it holds runs here."""
        viewer = ui.guard.require(request)
        try:
            record, path = stored(request, task_id, name)
        except (TaskmillError, ValueError) as exc:
            return ui.error(request, viewer, exc)
        kind = mimetypes.guess_type(transfer.basename(record.uri) or path)[0] or ""
        if kind in _INLINE_IMAGES or kind.startswith(("audio/", "video/")):
            return FileResponse(path, media_type=kind, headers=_MEDIA_HEADERS)
        return FileResponse(
            path,
            media_type="application/octet-stream",
            filename=transfer.basename(record.uri) or name,
            headers=_MEDIA_HEADERS,
        )

    @router.get("/tasks/{task_id}/models/{model_id}")
    def model(request: Request, task_id: str, model_id: str) -> Response:
        """Download a model file kept on this server's disk."""
        viewer = ui.guard.require(request)
        found = next((m for m in ui.store.get_models(task_id) if m.id == model_id), None)
        if found is None:
            return ui.error(request, viewer, NotFoundError(f"task {task_id} has no model {model_id}"))
        if not transfer.is_local(found.uri):  # never fetched by the server
            return PlainTextResponse(f"model '{found.name}' is at {found.uri}; fetch it from there", 404)
        try:
            path = confinement_of(request.app.state, ui.artifacts.default_uri).resolve(found.uri)
        except ValueError as exc:
            return ui.error(request, viewer, exc)
        if not os.path.isfile(path):
            return PlainTextResponse(f"model '{found.name}' is at {found.uri}; fetch it from there", 404)
        name = os.path.basename(transfer.local_path(found.uri))
        return FileResponse(path, media_type="application/octet-stream", filename=name)

    @router.get("/runs/{run_id}/events")
    async def run_stream(
        request: Request,
        run_id: str,
        after: int = 0,
        last_event_id: Annotated[str | None, Header()] = None,
    ) -> Response:
        """The run page's live stream: changed nodes and the run header."""
        ui.guard.require(request)
        start = _last_id(last_event_id, after)
        return EventSourceResponse(
            run_events(request, ui.feed, ui.store, ui.runs, run_id, start), headers=_STREAM_HEADERS
        )

    @router.get("/tasks/{task_id}/log/events")
    async def log_stream(
        request: Request,
        task_id: str,
        after: int = 0,
        last_event_id: Annotated[str | None, Header()] = None,
    ) -> Response:
        """A task's console lines after seq ``after``, as they are written."""
        ui.guard.require(request)
        await run_in_threadpool(ui.store.get_task, task_id)
        start = _last_id(last_event_id, after)
        return EventSourceResponse(
            log_events(request, ui.feed, ui.store, task_id, start), headers=_STREAM_HEADERS
        )

    @router.get("/live")
    async def live(request: Request, region: str) -> Response:
        """Pings for a page region to refresh itself (pipelines, runs, queues)."""
        ui.guard.require(request)
        kinds = REGIONS.get(region, frozenset())
        return EventSourceResponse(ping_events(request, ui.feed, kinds), headers=_STREAM_HEADERS)

    return router
