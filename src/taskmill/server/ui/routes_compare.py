"""The compare page of the web UI: ``GET /compare?run=ID&run=ID...`` (any number of runs, at
least two; the runs table's check boxes send ``run``), or the older ``?a=ID&b=ID``.

Read-only; see :mod:`taskmill.server.ui.compare` for what is compared. This router is included
before the other page routes, so it answers ``/compare``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from taskmill.errors import TaskmillError
from taskmill.server.ui.compare import compare_runs
from taskmill.server.ui.context import Ui


def compare_router(ui: Ui) -> APIRouter:
    """The compare route of ``ui``."""
    router = APIRouter(include_in_schema=False)

    @router.get("/compare")
    async def compare(
        request: Request, run: Annotated[list[str] | None, Query()] = None, a: str = "", b: str = ""
    ) -> Response:
        """Runs side by side: parameters, steps and metrics (``a`` and ``b`` come first)."""
        viewer = ui.guard.require(request)
        ids = [i for i in (a, b) if i] + list(run or [])
        try:
            data = await run_in_threadpool(compare_runs, ui.store, ui.runs, ids)
        except (TaskmillError, ValueError) as exc:
            return ui.error(request, viewer, exc)
        return ui.page(request, "compare.html", viewer, c=data, title="Compare runs")

    return router
