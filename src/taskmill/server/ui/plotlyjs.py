"""Plotly.js for the figures, served from the installed ``plotly`` wheel's own bundle.

The ``plotly`` Python package (an optional extra) ships ``package_data/plotly.min.js``; when it is
installed the UI serves that file at :data:`BUNDLE_URL` and draws Plotly figures with it, else
pages keep the server-drawn SVG charts. Nothing is copied into this repository. Finding the file
does not import plotly (only its import spec is looked up).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, PlainTextResponse
from starlette.responses import Response

BUNDLE_URL = "/plotly/plotly.min.js"


def bundle_path() -> Path | None:
    """The installed ``plotly`` package's ``plotly.min.js``; None when plotly is not installed."""
    try:
        spec = importlib.util.find_spec("plotly")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "package_data" / "plotly.min.js"
        if path.is_file():
            return path
    return None


def plotly_router(path: Path | None) -> APIRouter:
    """The route serving ``path`` (the bundle found at startup) at :data:`BUNDLE_URL`."""
    router = APIRouter(include_in_schema=False)

    @router.get(BUNDLE_URL)
    def bundle() -> Response:
        """Plotly.js (cacheable: the page links it with the package's mtime as version)."""
        if path is None or not path.is_file():
            return PlainTextResponse("plotly is not installed on this server (pip install plotly)", 404)
        return FileResponse(
            path, media_type="text/javascript", headers={"Cache-Control": "public, max-age=86400"}
        )

    return router
