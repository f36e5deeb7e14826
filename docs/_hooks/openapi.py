"""MkDocs hook: ``reference/openapi.json``, the server's OpenAPI document, generated at build time.

The document comes from :func:`taskmill.server.create_app` on a throwaway embedded store, so it
is exactly what a running ``taskmill server`` serves at ``/openapi.json``. It is added to the
site as a generated file, so pages can link to it and ``mkdocs build --strict`` checks the link.
A page containing ``<!-- openapi-endpoints -->`` gets a table of every path and method.
"""

from __future__ import annotations

import json
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

PATH = "reference/openapi.json"
MARKER = "<!-- openapi-endpoints -->"


@cache
def openapi_document() -> str:
    """The OpenAPI JSON of a freshly built server app (built once per process)."""
    from taskmill.artifacts import ArtifactStore
    from taskmill.server import create_app
    from taskmill.store.factory import open_store

    with tempfile.TemporaryDirectory(prefix="taskmill-docs-") as tmp:
        store = open_store(f"sqlite:///{Path(tmp) / 'store.db'}")
        try:
            artifacts = ArtifactStore(str(Path(tmp) / "artifacts"), Path(tmp) / "cache")
            app = create_app(store, artifacts)
            document = app.openapi()
        finally:
            store.close()
    return json.dumps(document, indent=2, sort_keys=False) + "\n"


def on_files(files: Any, config: Any) -> Any:
    """Add the generated OpenAPI document to the site."""
    from mkdocs.structure.files import File

    files.append(File.generated(config, PATH, content=openapi_document()))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """Replace the marker with a table of the API's endpoints."""
    if MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, endpoint_table(json.loads(openapi_document())))


def endpoint_table(document: dict[str, Any]) -> str:
    """A markdown table: area, method, path and summary of every operation, sorted by area."""
    rows: list[tuple[str, str, str, str]] = []
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or method.startswith("x-"):
                continue
            # Without tags, the first path segment after /api/v1 names the area (tasks, queues...).
            segments = [s for s in path.split("/") if s and s not in ("api", "v1")]
            tag = (operation.get("tags") or segments[:1] or ["other"])[0]
            summary = " ".join(str(operation.get("summary") or operation.get("description") or "").split())
            rows.append((tag, path, method.upper(), summary))
    lines = ["| Area | Method | Path | What it does |", "|---|---|---|---|"]
    for tag, path, method, summary in sorted(rows, key=lambda r: (r[0], r[1], r[2])):
        lines.append(f"| {tag} | `{method}` | `{path}` | {summary.replace('|', '/')} |")
    return "\n".join(lines) + "\n"
