"""Jinja2 templates of the web UI and the small formatting helpers they use.

Autoescaping is on for every template: whatever a user typed (task names, parameters, logs) is
rendered as text. Status looks (icon, label, CSS class) live here; their colours live in
``static/app.css`` only.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from taskmill.core import humanize
from taskmill.core.states import TaskStatus
from taskmill.server.ui.plotlyjs import BUNDLE_URL, bundle_path
from taskmill.server.ui.security import Viewer

HERE = Path(__file__).parent
#: Shown for an unknown value (an en dash).
NONE = "\u2013"

#: Node status -> (css class, label). The icon id is ``i-<css class>`` (templates/_icons.svg).
NODE_LOOK: dict[str, tuple[str, str]] = {
    "pending": ("pending", "Pending"),
    "queued": ("queued", "Queued"),
    "running": ("running", "Running"),
    "completed": ("completed", "Completed"),
    "cached": ("cached", "Cached"),
    "failed": ("failed", "Failed"),
    "aborted": ("aborted", "Aborted"),
    "skipped": ("skipped", "Skipped"),
}
#: Task status -> css class (labels come from :attr:`TaskStatus.label`: Draft, Pending, ...).
TASK_CLASS: dict[str, str] = {
    "created": "draft",
    "queued": "queued",
    "in_progress": "running",
    "completed": "completed",
    "published": "published",
    "failed": "failed",
    "stopped": "aborted",
}


def node_look(status: str) -> dict[str, str]:
    """``{"cls", "label"}`` of a pipeline node status."""
    cls, label = NODE_LOOK.get(status, ("pending", status or "?"))
    return {"cls": cls, "label": label}


def task_look(status: TaskStatus | str) -> dict[str, str]:
    """``{"cls", "label"}`` of a task status (ClearML's labels: Draft, Pending, Running ...)."""
    try:
        parsed = TaskStatus(str(status))
    except ValueError:
        return {"cls": "pending", "label": str(status)}
    return {"cls": TASK_CLASS[parsed.value], "label": parsed.label}


def duration(seconds: float | None) -> str:
    """``0.4s``, ``45s``, ``3m 05s``, ``2h 03m``, ``1d 04h``; :data:`NONE` when unknown."""
    return humanize.duration(seconds) or NONE


def ago(ts: float | None, now: float | None = None) -> str:
    """``3 min ago`` style age; ``never`` when unset."""
    return humanize.age(ts, now) or "never"


def timestamp(ts: float | None) -> str:
    """Local date and time to the second, or :data:`NONE`."""
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S") if ts else NONE


def value_text(value: Any) -> str:
    """A parameter value as people type it: strings bare, everything else as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str)


def filesize(size: int | None) -> str:
    """``812 B``, ``1.4 KiB``, ``3.2 MiB`` ..."""
    if size is None:
        return NONE
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def short(task_id: str | None) -> str:
    """The first 8 characters of an id."""
    return (task_id or "")[:8]


class Templates:
    """The template environment of one app."""

    def __init__(self, *, auth: bool) -> None:
        self.env = Environment(
            loader=FileSystemLoader(str(HERE / "templates")),
            autoescape=select_autoescape(("html", "svg"), default_for_string=True, default=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters.update(
            duration=duration, ago=ago, ts=timestamp, value=value_text, filesize=filesize, short=short
        )
        bundle = bundle_path()
        #: The Plotly.js URL (versioned) when the plotly package is installed, else "".
        self.plotly_path = bundle
        plotly_js = f"{BUNDLE_URL}?v={int(bundle.stat().st_mtime)}" if bundle else ""
        self.env.globals.update(node_look=node_look, task_look=task_look, auth=auth, plotly_js=plotly_js)
        self.asset_version = str(int(max(p.stat().st_mtime for p in (HERE / "static").iterdir())))

    def page(
        self, request: Request, name: str, viewer: Viewer | None, status_code: int = 200, **context: Any
    ) -> HTMLResponse:
        """Render a full page (or a fragment) with the viewer and request in its context."""
        template = self.env.get_template(name)
        html = template.render(
            request=request, viewer=viewer, v=self.asset_version, now=time.time(), **context
        )
        return HTMLResponse(html, status_code=status_code)
