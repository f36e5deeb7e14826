"""The SQL store with leases: the store local runs open (:mod:`taskmill.store.lease`).

Apart from :mod:`taskmill.store.leased_http` so that opening one backend never imports the other
(SQLAlchemy for an HTTP client, httpx for a SQLite script).
"""

from __future__ import annotations

from taskmill.store.lease import LeaseRecording
from taskmill.store.sql.store import SqlTaskStore


class LeasedSqlTaskStore(LeaseRecording, SqlTaskStore):
    """The SQL store, recording the lease of the local tasks this process starts running."""
