"""Pick the store implementation for a URL (the one place that knows the backends)."""

from __future__ import annotations

from taskmill.store.base import TaskStore


def open_store(url: str) -> TaskStore:
    """Open (and migrate if needed) the store at ``url``.

    ``sqlite:////path/store.db`` and ``postgresql+psycopg://...`` are served by the SQL store.
    Raises ValueError for an unsupported URL, StoreError subclasses for unusable stores.
    """
    if url.startswith(("http://", "https://")):
        raise ValueError(
            f"store URL '{url}': the HTTP store (a `taskmill server`) is not available in this version; "
            "use sqlite:////path/store.db or postgresql+psycopg://user@host/db"
        )
    from taskmill.store.sql.store import SqlTaskStore

    return SqlTaskStore(url)
