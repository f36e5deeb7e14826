"""The base of the SQL task store: the database, its transactions, and helpers every concern shares.

:class:`SqlStoreBase` is the SQL store's spine (huey's ``BaseSqlStorage`` shape): it opens the
:class:`~taskmill.store.sql.db.Database`, migrates the schema, and offers what each concern mixin
(:mod:`.tasks`, :mod:`.params`, :mod:`.outputs`, :mod:`.queues`, :mod:`.admin`, :mod:`.events`)
writes with: :meth:`SqlStoreBase.batch` (one write transaction, re-entrant), the event feed
append that commits with the change it records, and locked reads of a task row. The row codecs
shared by several concerns (JSON text columns, the task row) live here too.

Nothing here is public API: :class:`taskmill.store.sql.store.SqlTaskStore` is the store to open.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager

from taskmill.core.model import ScriptInfo, TaskRecord
from taskmill.core.states import TaskStatus, TaskTypes
from taskmill.errors import ConflictError, NotFoundError, TaskNotFoundError
from taskmill.store.base import TaskStore
from taskmill.store.sql.db import Database, Row, StoreURL
from taskmill.store.sql.migrate import current_revision, ensure_schema
from taskmill.types import JSONValue

#: The ``tasks`` columns in the order :func:`row_to_task` reads them.
TASK_COLUMNS = (
    "id, name, project, task_type, status, status_message, status_reason, parent, tags, system_tags, "
    "comment, user_name, script, runtime, output_uri, progress, queue, worker, created, started, "
    "completed, last_update, cache_key"
)
_EVENT_PRUNE_EVERY = 1000  # prune the event feed every this many events ...
_EVENTS_KEPT = 200_000  # ... keeping this many: readers only need the recent past


def dumps(value: object) -> str:
    """``value`` as compact JSON for a text column (unknown types as their ``str``)."""
    return json.dumps(value, separators=(",", ":"), default=str)


def row_to_task(r: Row) -> TaskRecord:
    """A :class:`TaskRecord` from a row selected with :data:`TASK_COLUMNS`."""
    return TaskRecord(
        id=r[0],
        name=r[1],
        project=r[2],
        task_type=TaskTypes(r[3]),
        status=TaskStatus(r[4]),
        status_message=r[5],
        status_reason=r[6],
        parent=r[7],
        tags=tuple(json.loads(r[8])),
        system_tags=tuple(json.loads(r[9])),
        comment=r[10],
        user=r[11],
        script=ScriptInfo.from_dict(json.loads(r[12])),
        runtime=json.loads(r[13]),
        output_uri=r[14],
        progress=int(r[15]),
        queue=r[16],
        worker=r[17],
        created=float(r[18]),
        started=None if r[19] is None else float(r[19]),
        completed=None if r[20] is None else float(r[20]),
        last_update=float(r[21]),
        cache_key=r[22],
    )


class SqlStoreBase(TaskStore):
    """The open database of a SQL store; opening it migrates the schema if needed.

    Raises the :class:`~taskmill.errors.StoreError` subclasses of :class:`Database` and
    :func:`ensure_schema` for an unusable store (the connection is closed again then).
    ``create=False`` (read-only callers): a store that does not exist yet (no SQLite file, an
    empty database) raises NotFoundError naming it instead of being created.
    """

    def __init__(self, url: str, *, create: bool = True) -> None:
        self.url = url
        self._db = Database(StoreURL.parse(url), create=create)
        try:
            if not create and current_revision(self._db) is None:
                raise NotFoundError(
                    f"no taskmill store at {url}: the database is empty (nothing has been tracked "
                    "there yet). Check TASKMILL_STORE, or open it once for writing to create it."
                )
            ensure_schema(self._db)
        except BaseException:
            self._db.close()
            raise

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._db.dialect

    def close(self) -> None:
        """Close the connection (idempotent)."""
        self._db.close()

    @contextmanager
    def batch(self) -> Iterator[None]:
        """One write transaction around the block: all-or-nothing, re-entrant in one thread."""
        with self._db.transaction():
            yield

    # -- helpers for the concern mixins, called inside their transactions -----------------------

    def _in_transaction(self) -> bool:
        """True when the calling thread is inside a write transaction of this store."""
        return self._db.in_transaction

    def _event(self, kind: str, task_id: str | None, data: dict[str, JSONValue]) -> None:
        """Append an event; called inside the transaction that makes the change, so both commit."""
        rows = self._db.execute(
            "INSERT INTO events (time, kind, task_id, data) VALUES (?, ?, ?, ?) RETURNING id",
            (time.time(), kind, task_id, dumps(data)),
        )
        event_id = int(rows[0][0])
        if event_id % _EVENT_PRUNE_EVERY == 0:
            self._db.execute("DELETE FROM events WHERE id <= ?", (event_id - _EVENTS_KEPT,))
        if self._db.dialect == "postgresql":
            self._db.execute("SELECT pg_notify('taskmill_events', ?)", (str(event_id),))

    def _locked_task(self, task_id: str) -> TaskRecord:
        """The task row, locked until the transaction ends (PostgreSQL; SQLite holds the DB lock)."""
        rows = self._db.execute(
            f"SELECT {TASK_COLUMNS} FROM tasks WHERE id = ?{self._db.for_update}", (task_id,)
        )
        if not rows:
            raise TaskNotFoundError(task_id)
        return row_to_task(rows[0])

    def attempt_of(self, task_id: str) -> int:
        rows = self._db.execute("SELECT attempt FROM tasks WHERE id = ?", (task_id,))
        if not rows:
            raise TaskNotFoundError(task_id)
        return int(rows[0][0])

    def _check_fence(self, task_id: str) -> None:
        """Raise ConflictError when this context writes as an attempt of ``task_id`` that another
        attempt has superseded. Called inside the write's transaction (after the row lock where
        there is one), so a retry's claim cannot slip in between the check and the write."""
        fence = self.current_fence()
        if fence is None or fence[0] != task_id:
            return
        current = self.attempt_of(task_id)
        if current != fence[1]:
            raise ConflictError(
                f"task {task_id}: attempt {fence[1]} was superseded by attempt {current}; "
                "the store refuses writes from a superseded attempt (its agent was declared dead "
                "and the task was retried)"
            )

    def _touch(self, task_id: str) -> None:
        """Mark the task changed now; raises TaskNotFoundError for an unknown task, ConflictError
        for a superseded attempt (see :meth:`_check_fence`)."""
        self._check_fence(task_id)
        if not self._db.execute(
            "UPDATE tasks SET last_update = ? WHERE id = ? RETURNING id", (time.time(), task_id)
        ):
            raise TaskNotFoundError(task_id)
