"""The taskmill server: a versioned JSON HTTP API over a task store, with artifact streaming and events.

Build the app with :func:`create_app` (no globals: pass the store and artifact storage in) and
serve it with :func:`serve` or :class:`ServerThread`. The server never executes tasks.
"""

from __future__ import annotations

from taskmill.server.app import API_PREFIX, create_app
from taskmill.server.runner import ServerThread, free_port, serve

__all__ = ["API_PREFIX", "ServerThread", "create_app", "free_port", "serve"]
