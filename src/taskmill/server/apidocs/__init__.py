"""``/docs``: the interactive API reference (Swagger UI), served from this server alone.

FastAPI's default ``/docs`` page loads Swagger UI from a public CDN, which shows a blank page on
the offline networks many teams run a self-hosted server on. Here the Swagger UI 5 files (which
read OpenAPI 3.1, what FastAPI writes) come from the ``fastapi-swagger`` distribution, a pip
dependency whose bundled files are all we use; nothing is copied into this repository. The page's
only script of our own is ``init.js`` next to this module, so the page also runs under a CSP that
forbids inline scripts.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

_HERE = Path(__file__).parent
_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title} API</title>
<link rel="icon" href="{prefix}/swagger/favicon-32x32.png">
<link rel="stylesheet" href="{prefix}/swagger/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi_url}"></div>
<script src="{prefix}/swagger/swagger-ui-bundle.js"></script>
<script src="{prefix}/init.js"></script>
</body>
</html>
"""
#: Swagger UI sets style attributes and draws data: images; scripts come only from this server.
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'"
)


def mount_docs(app: FastAPI, *, title: str, path: str = "/docs") -> None:
    """Serve the API reference at ``path`` (the app must be built with ``docs_url=None``).

    Call it once per app. Reads the files it serves from the installed packages; no network.
    """
    swagger_files = importlib.resources.files("fastapi_swagger") / "resources"
    prefix = f"{path}/static"
    openapi_url = app.openapi_url or "/openapi.json"
    page = _PAGE.format(title=title, prefix=prefix, openapi_url=openapi_url)
    init = (_HERE / "init.js").read_text()
    app.mount(f"{prefix}/swagger", StaticFiles(directory=str(swagger_files)), name="apidocs-swagger")

    @app.get(path, include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(page, headers={"Content-Security-Policy": _CSP})

    @app.get(f"{prefix}/init.js", include_in_schema=False)
    def init_js() -> Response:
        return Response(init, media_type="text/javascript")
