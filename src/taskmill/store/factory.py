"""Pick the store implementation for a URL (the one place that knows the backends)."""

from __future__ import annotations

from taskmill.store.base import TaskStore


def open_store(
    url: str, api_key: str | None = None, *, retry_for: float | None = None, create: bool = True
) -> TaskStore:
    """Open (and migrate if needed) the store at ``url``.

    ``sqlite:////path/store.db`` and ``postgresql+psycopg://...`` are served by the SQL store;
    ``http(s)://host:port`` by a ``taskmill server`` through the HTTP store, authenticated with
    ``api_key`` (ignored by the SQL store: database access is controlled by the database).
    ``retry_for``: HTTP stores only, seconds to keep retrying while the server is unreachable
    (default 60, so agents and controllers ride out a server restart; interactive commands
    may want a few seconds). ``create=False`` is for read-only callers: a SQL store that does
    not exist yet (no SQLite file, an empty database) raises NotFoundError naming it and the fix
    instead of being created (an HTTP store's server owns its store: ignored there). Raises
    ValueError for an unsupported URL, StoreError subclasses (one line naming the location and
    the fix) for unusable stores.
    """
    if url.startswith(("http://", "https://")):
        from taskmill.store.http import HttpTaskStore

        if retry_for is None:
            return HttpTaskStore(url, api_key)
        return HttpTaskStore(url, api_key, retry_for=retry_for)
    from taskmill.store.sql.store import SqlTaskStore

    return SqlTaskStore(url, create=create)
