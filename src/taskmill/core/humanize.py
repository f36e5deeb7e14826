"""Durations and ages as people read them, shared by the CLI and the web UI (pure functions).

Each returns None when the value is unknown; the caller shows its own placeholder for that
(``-`` in the terminal, an en dash or ``never`` in the browser).
"""

from __future__ import annotations

import time


def duration(seconds: float | None) -> str | None:
    """``0.4s``, ``45s``, ``3m 05s``, ``2h 03m``, ``1d 04h``; None when unknown or negative."""
    if seconds is None or seconds < 0:
        return None
    s = int(seconds)
    if s < 60:
        return f"{seconds:.1f}s" if seconds < 10 else f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 86400}d {s % 86400 // 3600:02d}h"


def age(ts: float | None, now: float | None = None) -> str | None:
    """``just now``, ``42 s ago``, ``3 min ago``, ``5 h ago``, ``2 days ago``; None when unset.

    Ages under 10 s (clock skew between writers included, so negative ones too) are ``just now``.
    """
    if not ts:
        return None
    seconds = (time.time() if now is None else now) - ts
    if seconds < 10:
        return "just now"
    for limit, unit, size in ((60, "s", 1), (3600, "min", 60), (86400, "h", 3600)):
        if seconds < limit:
            return f"{int(seconds // size)} {unit} ago"
    days = int(seconds // 86400)
    return f"{days} day{'s' if days != 1 else ''} ago"
