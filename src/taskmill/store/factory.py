"""Pick the store implementation for a URL (the one place that knows the backends)."""

from __future__ import annotations

import logging
import os

from taskmill.errors import TaskmillError
from taskmill.store.base import TaskStore


def open_store(
    url: str, api_key: str | None = None, *, retry_for: float | None = None, create: bool = True
) -> TaskStore:
    """Open (and migrate if needed) the store at ``url``.

    ``sqlite:////path/store.db`` and ``postgresql+psycopg://...`` are served by the SQL store;
    ``http(s)://host:port`` by a ``taskmill server`` through the HTTP store, authenticated with
    ``api_key`` (ignored by the SQL store: database access is controlled by the database).
    ``retry_for``: HTTP stores only, seconds to keep retrying while the server is unreachable
    (default ``$TASKMILL_STORE_RETRY``, else 600, so agents and controllers ride out a server
    outage; interactive commands may want a few seconds). ``create=False`` is for read-only
    callers: a SQL store that does not exist yet (no SQLite file, an empty database) raises
    NotFoundError naming it and the fix instead of being created (an HTTP store's server owns
    its store: ignored there). Raises ValueError for an unsupported URL, StoreError subclasses
    (one line naming the location and the fix) for unusable stores.

    Both record which local process runs each local task (a lease), and opening one fails the
    *Running* tasks whose process on this host died (:mod:`taskmill.store.lease`): one query
    for the running tasks, so a kill -9 never leaves a task *Running* forever. A SQL store
    checks before returning; an HTTP store checks in a background thread (the server may be
    down), and not in a task an agent runs (the agents' reapers judge those).
    """
    if url.startswith(("http://", "https://")):
        from taskmill.store.lease import reap_in_background
        from taskmill.store.leased_http import LeasedHttpTaskStore

        http = LeasedHttpTaskStore(url, api_key, retry_for=retry_for)
        if not os.environ.get("TASKMILL_TASK_ID"):  # under an agent, the agents' reapers judge
            reap_in_background(http)
        return http
    from taskmill.store.lease import reap_dead_leases
    from taskmill.store.leased_sql import LeasedSqlTaskStore

    store = LeasedSqlTaskStore(url, create=create)
    try:
        reap_dead_leases(store)
    except TaskmillError as exc:  # a store that cannot be written (read-only file) still opens
        logging.getLogger(__name__).warning("could not check for tasks of dead processes: %s", exc)
    return store
