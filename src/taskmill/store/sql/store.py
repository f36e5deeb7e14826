"""The SQL task store: one implementation for SQLite (embedded default) and PostgreSQL.

Semantics are those of :class:`taskmill.store.base.TaskStore`. Concurrency: SQLite write
transactions take the database lock up front (``BEGIN IMMEDIATE``); PostgreSQL locks the rows it
checks (``FOR UPDATE``) and claims queue entries with ``FOR UPDATE SKIP LOCKED``.

The class is assembled from one mixin per concern over :class:`~.connection.SqlStoreBase` (the
database, its transactions and the event append every write shares): tasks and projects
(:mod:`.tasks`, :mod:`.projects`), parameters (:mod:`.params`), outputs (:mod:`.outputs`), queues
(:mod:`.queues`), workers and API keys (:mod:`.admin`), and reading events (:mod:`.events`).
"""

from __future__ import annotations

from taskmill.store.sql.admin import AdminMixin
from taskmill.store.sql.events import EventsMixin
from taskmill.store.sql.outputs import OutputsMixin
from taskmill.store.sql.params import ParamsMixin
from taskmill.store.sql.queues import QueuesMixin

__all__ = ["SqlTaskStore"]


class SqlTaskStore(QueuesMixin, ParamsMixin, OutputsMixin, AdminMixin, EventsMixin):
    """Task store on SQLite or PostgreSQL. Opening it migrates the schema if needed.

    ``SqlTaskStore(url)`` with ``sqlite:////path/store.db`` or ``postgresql+psycopg://...``; one
    instance may be shared by the threads of a process (they take turns on its connection).
    """
