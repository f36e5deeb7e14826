"""Plotly.js for the figures, served from the installed ``plotly`` wheel's own bundle.

The ``plotly`` Python package (an optional extra) ships ``package_data/plotly.min.js``; when it is
installed the UI serves that file at :data:`BUNDLE_URL` and draws Plotly figures with it, else
pages keep the server-drawn SVG charts. Nothing is copied into this repository. Finding the file
does not import plotly (only its import spec is looked up).

**Under the Content-Security-Policy.** Plotly.js never runs inline script, so ``script-src 'self'``
stays as it is; it does style pages inline, in three ways. (1) Its own rules go into ``<style>``
elements it creates *empty* and fills through the CSSOM (``insertRule``, which CSP does not
govern): allowed by the hash of the empty string. (2) The bundled MapLibre stylesheet is one
literal ``<style>`` text: allowed by its hash, read from the installed bundle (so it follows the
plotly version). (3) ``style="..."`` attributes whose values vary per figure (transforms, sizes,
``image-rendering`` of heatmaps): no hash can name them and Plotly has no nonce option, so
``style-src-attr 'unsafe-inline'`` -- attributes only: a style attribute cannot load a
stylesheet or run script, while ``<style>`` elements stay restricted to this server and the
hashes. :func:`plotly_policy` widens a policy that way, for the pages that draw Plotly figures.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import re
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, PlainTextResponse
from starlette.responses import Response

BUNDLE_URL = "/plotly/plotly.min.js"
#: The CSP hash source of an empty ``<style>`` element (the SHA-256 of "").
EMPTY_STYLE = "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"
#: A stylesheet the bundle injects as one literal text (MapLibre's), without escapes in it.
_LITERAL_STYLE = re.compile(r'createElement\("style"\);\w+\.id="[0-9a-f]+",\w+\.textContent=\'([^\'\\]*)\'')
_STYLE_SRC = "style-src 'self'"


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


def style_hash(css: str) -> str:
    """The CSP source allowing a ``<style>`` element whose text is exactly ``css``."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(css.encode()).digest()).decode() + "'"


def style_sources(path: Path) -> tuple[str, ...]:
    """The hash sources for the ``<style>`` elements the bundle at ``path`` creates (reads the
    file once; call it at startup)."""
    text = path.read_text(encoding="utf-8", errors="replace")
    return (EMPTY_STYLE, *dict.fromkeys(style_hash(m.group(1)) for m in _LITERAL_STYLE.finditer(text)))


def plotly_policy(policy: str, sources: tuple[str, ...]) -> str:
    """``policy`` (which must contain ``style-src 'self'``) with Plotly's styles allowed as the
    module docstring says; ``script-src`` and every other directive are left as they are."""
    if _STYLE_SRC not in policy:
        raise ValueError(f"policy has no {_STYLE_SRC!r} to extend: {policy}")
    extra = f"{_STYLE_SRC}; style-src-elem 'self' {' '.join(sources)}; style-src-attr 'unsafe-inline'"
    return policy.replace(_STYLE_SRC, extra, 1)


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
