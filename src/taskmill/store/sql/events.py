"""Reading the SQL store's event feed, and waiting for new events.

Events are appended by the writes themselves (:meth:`SqlStoreBase._event`, in the transaction of
the change), so a reader sees an event only once its change is committed. ``wait_events`` blocks
up to ``timeout`` seconds: on PostgreSQL it sleeps on ``LISTEN`` over a connection of its own, so a
waiting reader never holds up writers; on SQLite it polls (the base class's loop).
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from taskmill.core.model import EventRecord
from taskmill.errors import StoreError
from taskmill.store.sql.connection import SqlStoreBase


class EventsMixin(SqlStoreBase):
    """``events_since``/``last_event_id``/``wait_events`` of :class:`~taskmill.store.base.TaskStore`."""

    def __init__(self, url: str, *, create: bool = True) -> None:
        super().__init__(url, create=create)
        self._listener: Any = None  # PostgreSQL LISTEN connection, opened on the first wait
        self._listen_lock = threading.Lock()

    def close(self) -> None:
        with self._listen_lock:
            if self._listener is not None:
                self._listener.close()
                self._listener = None
        super().close()

    def events_since(
        self, after: int = 0, *, limit: int = 1000, task_id: str | None = None
    ) -> list[EventRecord]:
        sql = "SELECT id, time, kind, task_id, data FROM events WHERE id > ?"
        args: list[Any] = [after]
        if task_id is not None:
            sql += " AND task_id = ?"
            args.append(task_id)
        sql += " ORDER BY id LIMIT ?"
        args.append(limit)
        return [
            EventRecord(int(r[0]), float(r[1]), r[2], r[3], json.loads(r[4]))
            for r in self._db.execute(sql, args)
        ]

    def last_event_id(self) -> int:
        return int(self._db.execute("SELECT COALESCE(MAX(id), 0) FROM events")[0][0])

    def wait_events(
        self, after: int, timeout: float, *, task_id: str | None = None, limit: int = 1000
    ) -> list[EventRecord]:
        if self._db.dialect != "postgresql":
            return super().wait_events(after, timeout, task_id=task_id, limit=limit)
        return self._wait_pg(after, timeout, task_id, limit)

    def _wait_pg(self, after: int, timeout: float, task_id: str | None, limit: int) -> list[EventRecord]:
        # LISTEN on a connection of our own (kept for the store's life), so a waiting reader
        # never blocks the writers and does not open a connection per wait.
        import psycopg

        deadline = time.monotonic() + timeout
        with self._listen_lock:
            try:
                if self._listener is None or self._listener.closed:
                    self._listener = psycopg.connect(self._db.url.conninfo, autocommit=True)
                    self._listener.execute("LISTEN taskmill_events")
                while True:
                    found = self.events_since(after, limit=limit, task_id=task_id)
                    remaining = deadline - time.monotonic()
                    if found or remaining <= 0:
                        return found
                    for _ in self._listener.notifies(timeout=remaining, stop_after=1):
                        break
            except psycopg.Error as exc:
                if self._listener is not None:
                    self._listener.close()
                self._listener = None
                raise StoreError(f"store {self.url}: waiting for events failed: {exc}") from exc
