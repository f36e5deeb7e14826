"""Task rows in the SQL store: create, read, find, update, status changes, delete.

Every write is one transaction that locks the task row it checks (PostgreSQL ``FOR UPDATE``;
SQLite takes the database write lock at ``BEGIN IMMEDIATE``), so a status change is checked
against the state machine and applied atomically: of two writers racing from the same status,
one wins and the other gets :class:`~taskmill.errors.ConflictError` or
:class:`~taskmill.errors.InvalidTransitionError`. Each change appends its event in the same
transaction.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from taskmill.core.model import ScriptInfo, TaskRecord
from taskmill.core.states import FINAL_STATUSES, TaskStatus, TaskTypes, can_transition, check_transition
from taskmill.errors import ConflictError, TaskNotFoundError
from taskmill.store.base import TaskFilter
from taskmill.store.sql.connection import TASK_COLUMNS, dumps, row_to_task
from taskmill.store.sql.projects import ProjectsMixin

_ORDER_FIELDS = {"created", "last_update", "name", "started", "completed", "status", "project"}
#: plain fields update_task may set, with how each is encoded
_UPDATABLE: dict[str, str] = {
    "name": "str",
    "project": "str",
    "comment": "str",
    "tags": "list",
    "system_tags": "list",
    "parent": "opt",
    "script": "script",
    "runtime": "runtime",
    "output_uri": "str",
    "progress": "int",
    "task_type": "enum",
    "user": "str",
    "cache_key": "str",
}
#: tables whose rows belong to one task (``task_id``), removed with it
_TASK_TABLES = ("task_params", "task_configs", "artifacts", "models", "scalars", "plots", "logs")


def _cas_conflict(current: TaskRecord, expected: Sequence[TaskStatus]) -> ConflictError:
    return ConflictError(
        f"task {current.id} is '{current.status.value}', expected one of "
        f"{[s.value for s in expected]}; someone else changed it first"
    )


def _status_changes(
    previous: TaskStatus,
    status: TaskStatus,
    message: str | None,
    reason: str | None,
    worker: str | None,
    queue: str | None,
) -> tuple[list[str], list[Any], dict[str, Any]]:
    """The ``SET`` clauses, their arguments and the record fields of a status change from
    ``previous`` (what is cleared or stamped depends only on the two statuses)."""
    now = time.time()
    sets = ["status = ?", "last_update = ?"]
    args: list[Any] = [status.value, now]
    changes: dict[str, Any] = {"status": status, "last_update": now}
    if message is not None or status != previous:
        sets.append("status_message = ?")
        args.append(message or "")
        changes["status_message"] = message or ""
    if reason is not None or status != previous:
        sets.append("status_reason = ?")
        args.append(reason or "")
        changes["status_reason"] = reason or ""
    if status == TaskStatus.in_progress and previous != TaskStatus.in_progress:
        sets += ["started = ?", "completed = NULL"]
        args.append(now)
        changes.update(started=now, completed=None)
    elif status in FINAL_STATUSES and previous not in FINAL_STATUSES:
        sets.append("completed = ?")
        args.append(now)
        changes["completed"] = now
    elif status == TaskStatus.created:
        sets += ["started = NULL", "completed = NULL", "progress = 0"]
        changes.update(started=None, completed=None, progress=0)
    if worker is not None:
        sets.append("worker = ?")
        args.append(worker)
        changes["worker"] = worker
    if queue is not None:
        sets.append("queue = ?")
        args.append(queue)
        changes["queue"] = queue
    return sets, args, changes


def like_literal(text: str) -> str:
    """``text`` escaped for ``LIKE ? ESCAPE '\\'``: its ``%``, ``_`` and ``\\`` match only themselves."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class TasksMixin(ProjectsMixin):
    """The task half of :class:`~taskmill.store.base.TaskStore` (semantics documented there)."""

    def create_task(self, task: TaskRecord) -> TaskRecord:
        now = time.time()
        created = task.created or now
        rec = TaskRecord(
            **{
                **{f: getattr(task, f) for f in task.__dataclass_fields__},
                "created": created,
                "last_update": now,
            }
        )
        with self._db.transaction():
            self._ensure_project_tx(rec.project, ())
            inserted = self._db.execute(
                f"INSERT INTO tasks ({TASK_COLUMNS}) VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (id) DO NOTHING RETURNING id",
                (
                    rec.id,
                    rec.name,
                    rec.project,
                    rec.task_type.value,
                    rec.status.value,
                    rec.status_message,
                    rec.status_reason,
                    rec.parent,
                    dumps(list(rec.tags)),
                    dumps(list(rec.system_tags)),
                    rec.comment,
                    rec.user,
                    dumps(rec.script.to_dict()),
                    dumps(rec.runtime),
                    rec.output_uri,
                    rec.progress,
                    rec.queue,
                    rec.worker,
                    rec.created,
                    rec.started,
                    rec.completed,
                    rec.last_update,
                    rec.cache_key,
                ),
            )
            if not inserted:
                raise ConflictError(f"a task with id '{rec.id}' already exists")
            self._event(
                "task.created", rec.id, {"name": rec.name, "project": rec.project, "parent": rec.parent}
            )
        return rec

    def get_task(self, task_id: str) -> TaskRecord:
        rows = self._db.execute(f"SELECT {TASK_COLUMNS} FROM tasks WHERE id = ?", (task_id,))
        if not rows:
            raise TaskNotFoundError(task_id)
        return row_to_task(rows[0])

    def find_tasks(self, flt: TaskFilter | None = None) -> list[TaskRecord]:
        flt = flt or TaskFilter()
        where: list[str] = []
        args: list[Any] = []
        if flt.project is not None:
            if flt.include_subprojects:
                where.append("(project = ? OR substr(project, 1, ?) = ?)")
                args += [flt.project, len(flt.project) + 1, flt.project + "/"]
            else:
                where.append("project = ?")
                args.append(flt.project)
        if flt.name is not None:
            where.append("name = ?")
            args.append(flt.name)
        if flt.name_contains:
            where.append("lower(name) LIKE ? ESCAPE '\\'")
            args.append("%" + like_literal(flt.name_contains.lower()) + "%")
        if flt.status:
            where.append(f"status IN ({','.join('?' * len(flt.status))})")
            args += [s.value for s in flt.status]
        if flt.task_type:
            where.append(f"task_type IN ({','.join('?' * len(flt.task_type))})")
            args += [t.value for t in flt.task_type]
        if flt.parent is not None:
            where.append("parent = ?")
            args.append(flt.parent)
        if flt.ids:
            where.append(f"id IN ({','.join('?' * len(flt.ids))})")
            args += list(flt.ids)
        # Tags are JSON lists in a text column: pre-filter in SQL (the quoted JSON string in
        # its column), check exactly in Python.
        for column, wanted in (("tags", flt.tags), ("system_tags", flt.system_tags)):
            for tag in wanted:
                where.append(f"{column} LIKE ? ESCAPE '\\'")
                args.append("%" + like_literal(dumps(tag)) + "%")
        desc = flt.order.startswith("-")
        order = flt.order.lstrip("-")
        if order not in _ORDER_FIELDS:
            raise ValueError(f"cannot order tasks by '{order}'; use one of {sorted(_ORDER_FIELDS)}")
        sql = f"SELECT {TASK_COLUMNS} FROM tasks"
        if where:
            sql += " WHERE " + " AND ".join(where)
        # the (order DESC, id) indexes of migration 0010 serve the usual newest-first listings
        sql += f" ORDER BY {order} {'DESC' if desc else 'ASC'}, id"
        if flt.limit is not None and flt.limit <= 0:
            return []
        if not (flt.tags or flt.system_tags):
            if flt.limit is not None:  # bounded in SQL: a first page costs the same at any history
                sql += " LIMIT ?"
                args.append(flt.limit)
            return [row_to_task(r) for r in self._db.execute(sql, args)]
        return self._find_tagged(sql, args, flt)

    def _find_tagged(self, sql: str, args: list[Any], flt: TaskFilter) -> list[TaskRecord]:
        """The rows of ``sql`` whose tags really hold the filter's, up to its limit.

        The LIKE pre-filter may let through a tag that only contains the wanted one, so with a
        limit the query is read in pages until the limit is filled or the rows run out.
        """

        def exact(t: TaskRecord) -> bool:
            return set(flt.tags) <= set(t.tags) and set(flt.system_tags) <= set(t.system_tags)

        if flt.limit is None:
            return [t for t in map(row_to_task, self._db.execute(sql, args)) if exact(t)]
        found: list[TaskRecord] = []
        page = max(2 * flt.limit, 64)
        offset = 0
        while len(found) < flt.limit:
            rows = self._db.execute(sql + " LIMIT ? OFFSET ?", [*args, page, offset])
            found += [t for t in map(row_to_task, rows) if exact(t)]
            if len(rows) < page:
                break
            offset += page
        return found[: flt.limit]

    def update_task(self, task_id: str, **fields: object) -> TaskRecord:
        unknown = set(fields) - set(_UPDATABLE)
        if unknown:
            raise ValueError(
                f"update_task cannot set {sorted(unknown)}; settable fields: {sorted(_UPDATABLE)} "
                "(use set_status for status changes)"
            )
        with self._db.transaction():
            current = self._locked_task(task_id)
            self._check_fence(task_id)
            sets: list[str] = []
            args: list[Any] = []
            for key, value in fields.items():
                kind = _UPDATABLE[key]
                column = "user_name" if key == "user" else key
                if kind == "list":
                    encoded: Any = dumps(list(value))  # type: ignore[call-overload]
                elif kind == "script":
                    encoded = dumps(value.to_dict() if isinstance(value, ScriptInfo) else value)
                elif kind == "runtime":
                    merged = dict(current.runtime)
                    merged.update(value)  # type: ignore[call-overload]
                    encoded = dumps(merged)
                elif kind == "int":
                    encoded = int(value)  # type: ignore[call-overload]
                elif kind == "enum":
                    encoded = TaskTypes(str(value)).value
                elif kind == "opt":
                    encoded = None if value is None else str(value)
                else:
                    encoded = str(value)
                sets.append(f"{column} = ?")
                args.append(encoded)
            if "project" in fields:
                self._ensure_project_tx(str(fields["project"]), ())
            sets.append("last_update = ?")
            args.append(time.time())
            self._db.execute(f"UPDATE tasks SET {', '.join(sets)} WHERE id = ?", (*args, task_id))
        return self.get_task(task_id)

    def set_status(
        self,
        task_id: str,
        status: TaskStatus,
        *,
        message: str | None = None,
        reason: str | None = None,
        force: bool = False,
        expected: Sequence[TaskStatus] = (),
        worker: str | None = None,
    ) -> TaskRecord:
        status = TaskStatus.parse(status)
        if expected and not self._in_transaction():
            # A compare-and-set that fails costs one read instead of a write transaction: a
            # committed status outside ``expected`` is a point in time where the write loses,
            # exactly as if it had been checked under the write lock.
            seen = self.get_task(task_id)
            if seen.status not in expected:
                raise _cas_conflict(seen, expected)
        fence = self.current_fence()
        swap = (
            len(expected) == 1
            and (fence is None or fence[0] != task_id)  # a fenced write checks after the row lock
            and (force or can_transition(expected[0], status))
        )
        with self._db.transaction():
            if swap:
                written = self._swap_status(task_id, expected[0], status, message, reason, worker)
                if written is not None:
                    return written
            current = self._locked_task(task_id)
            self._check_fence(task_id)
            return self._apply_status(current, status, message, reason, force, expected, worker)

    def _swap_status(
        self,
        task_id: str,
        previous: TaskStatus,
        status: TaskStatus,
        message: str | None,
        reason: str | None,
        worker: str | None,
    ) -> TaskRecord | None:
        """Compare-and-set ``previous -> status`` in one ``UPDATE ... RETURNING`` (no read of the
        row first); None when the row is not (or no longer) in ``previous``. Inside a transaction."""
        sets, args, _ = _status_changes(previous, status, message, reason, worker, None)
        rows = self._db.execute(
            f"UPDATE tasks SET {', '.join(sets)} WHERE id = ? AND status = ? RETURNING {TASK_COLUMNS}",
            (*args, task_id, previous.value),
        )
        if not rows:
            return None
        if previous == TaskStatus.queued and status != TaskStatus.queued:
            self._db.execute("DELETE FROM queue_entries WHERE task_id = ?", (task_id,))
        written = row_to_task(rows[0])
        self._status_event(written, previous)
        return written

    def _apply_status(
        self,
        current: TaskRecord,
        status: TaskStatus,
        message: str | None,
        reason: str | None,
        force: bool,
        expected: Sequence[TaskStatus],
        worker: str | None,
        queue: str | None = None,
    ) -> TaskRecord:
        """Apply a checked status change; returns the record as written (no re-read)."""
        if expected and current.status not in expected:
            raise _cas_conflict(current, expected)
        if not force:
            check_transition(current.id, current.status, status)
        sets, args, changes = _status_changes(current.status, status, message, reason, worker, queue)
        if current.status == TaskStatus.queued and status != TaskStatus.queued:
            self._db.execute("DELETE FROM queue_entries WHERE task_id = ?", (current.id,))
        self._db.execute(f"UPDATE tasks SET {', '.join(sets)} WHERE id = ?", (*args, current.id))
        written = replace(current, **changes)
        self._status_event(written, current.status)
        return written

    def _status_event(self, written: TaskRecord, previous: TaskStatus) -> None:
        """The ``task.status`` event of a change just written (none when the status stayed)."""
        if written.status == previous:
            return
        data: dict[str, Any] = {
            "status": written.status.value,
            "previous": previous.value,
            "parent": written.parent,
        }
        caller = self.current_caller()
        if caller is not None:
            data["by"] = caller.name or caller.id  # the audit trail: which key changed it
        self._event("task.status", written.id, data)

    def delete_task(self, task_id: str) -> None:
        with self._db.transaction():
            self._locked_task(task_id)
            for table in _TASK_TABLES:
                self._db.execute(f"DELETE FROM {table} WHERE task_id = ?", (task_id,))
            self._db.execute("DELETE FROM pipeline_nodes WHERE run_id = ?", (task_id,))
            self._db.execute("DELETE FROM queue_entries WHERE task_id = ?", (task_id,))
            self._db.execute("DELETE FROM tasks WHERE id = ?", (task_id,))

    def find_by_cache_key(self, key: str) -> list[TaskRecord]:
        if not key:
            return []
        rows = self._db.execute(
            f"SELECT {TASK_COLUMNS} FROM tasks WHERE cache_key = ? AND status IN ('completed', 'published') "
            "ORDER BY completed DESC, id",
            (key,),
        )
        return [row_to_task(r) for r in rows]
