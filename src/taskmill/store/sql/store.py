"""The SQL task store: one implementation for SQLite (embedded default) and PostgreSQL.

Semantics are those of :class:`taskmill.store.base.TaskStore`. Concurrency: SQLite write
transactions take the database lock up front (``BEGIN IMMEDIATE``); PostgreSQL locks the rows it
checks (``FOR UPDATE``) and claims queue entries with ``FOR UPDATE SKIP LOCKED``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from taskmill.core.model import (
    ArtifactRecord,
    ConfigObject,
    EventRecord,
    LogLine,
    ModelRecord,
    Param,
    PlotRecord,
    ProjectRecord,
    QueueEntry,
    QueueRecord,
    ScalarPoint,
    ScriptInfo,
    TaskRecord,
    WorkerRecord,
    new_id,
    project_ancestors,
)
from taskmill.core.states import FINAL_STATUSES, TaskStatus, TaskTypes, check_transition
from taskmill.errors import ConflictError, NotFoundError, QueueNotFoundError, StoreError, TaskNotFoundError
from taskmill.store import api_keys
from taskmill.store.base import ApiKeyRecord, TaskFilter, TaskStore, check_log_window
from taskmill.store.sql.db import Database, Row, StoreURL
from taskmill.store.sql.migrate import ensure_schema
from taskmill.types import JSONValue

_TASK_COLUMNS = (
    "id, name, project, task_type, status, status_message, status_reason, parent, tags, system_tags, "
    "comment, user_name, script, runtime, output_uri, progress, queue, worker, created, started, "
    "completed, last_update, cache_key"
)
_EVENT_PRUNE_EVERY = 1000  # prune the event feed every this many events ...
_EVENTS_KEPT = 200_000  # ... keeping this many: readers only need the recent past
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


def _dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)


def _row_to_task(r: Row) -> TaskRecord:
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


class SqlTaskStore(TaskStore):
    """Task store on SQLite or PostgreSQL. Opening it migrates the schema if needed."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._db = Database(StoreURL.parse(url))
        try:
            ensure_schema(self._db)
        except BaseException:
            self._db.close()
            raise
        self._projects_seen: set[str] = set()  # per-instance cache: saves a write per task
        self._listener: Any = None  # PostgreSQL LISTEN connection, opened on the first wait
        self._listen_lock = threading.Lock()

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._db.dialect

    def close(self) -> None:
        with self._listen_lock:
            if self._listener is not None:
                self._listener.close()
                self._listener = None
        self._db.close()

    @contextmanager
    def batch(self) -> Iterator[None]:
        with self._db.transaction():
            yield

    # -- tasks ------------------------------------------------------------------------------

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
                f"INSERT INTO tasks ({_TASK_COLUMNS}) VALUES "
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
                    _dumps(list(rec.tags)),
                    _dumps(list(rec.system_tags)),
                    rec.comment,
                    rec.user,
                    _dumps(rec.script.to_dict()),
                    _dumps(rec.runtime),
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
        rows = self._db.execute(f"SELECT {_TASK_COLUMNS} FROM tasks WHERE id = ?", (task_id,))
        if not rows:
            raise TaskNotFoundError(task_id)
        return _row_to_task(rows[0])

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
            where.append("lower(name) LIKE ?")
            args.append("%" + flt.name_contains.lower().replace("%", "").replace("_", "") + "%")
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
        # Tags are JSON lists in a text column: pre-filter in SQL, check exactly in Python.
        for tag in (*flt.tags, *flt.system_tags):
            where.append("(tags LIKE ? OR system_tags LIKE ?)")
            pattern = "%" + _dumps(tag).replace("%", "").replace("_", "") + "%"
            args += [pattern, pattern]
        desc = flt.order.startswith("-")
        order = flt.order.lstrip("-")
        if order not in _ORDER_FIELDS:
            raise ValueError(f"cannot order tasks by '{order}'; use one of {sorted(_ORDER_FIELDS)}")
        sql = f"SELECT {_TASK_COLUMNS} FROM tasks"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += f" ORDER BY {order} {'DESC' if desc else 'ASC'}, id"
        tasks = [_row_to_task(r) for r in self._db.execute(sql, args)]
        if flt.tags or flt.system_tags:
            tasks = [
                t
                for t in tasks
                if set(flt.tags) <= set(t.tags) and set(flt.system_tags) <= set(t.system_tags)
            ]
        if flt.limit is not None:
            tasks = tasks[: flt.limit]
        return tasks

    def update_task(self, task_id: str, **fields: object) -> TaskRecord:
        unknown = set(fields) - set(_UPDATABLE)
        if unknown:
            raise ValueError(
                f"update_task cannot set {sorted(unknown)}; settable fields: {sorted(_UPDATABLE)} "
                "(use set_status for status changes)"
            )
        with self._db.transaction():
            current = self._locked_task(task_id)
            sets: list[str] = []
            args: list[Any] = []
            for key, value in fields.items():
                kind = _UPDATABLE[key]
                column = "user_name" if key == "user" else key
                if kind == "list":
                    encoded: Any = _dumps(list(value))  # type: ignore[call-overload]
                elif kind == "script":
                    encoded = _dumps(value.to_dict() if isinstance(value, ScriptInfo) else value)
                elif kind == "runtime":
                    merged = dict(current.runtime)
                    merged.update(value)  # type: ignore[call-overload]
                    encoded = _dumps(merged)
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

    def _locked_task(self, task_id: str) -> TaskRecord:
        rows = self._db.execute(
            f"SELECT {_TASK_COLUMNS} FROM tasks WHERE id = ?{self._db.for_update}", (task_id,)
        )
        if not rows:
            raise TaskNotFoundError(task_id)
        return _row_to_task(rows[0])

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
        with self._db.transaction():
            current = self._locked_task(task_id)
            return self._apply_status(current, status, message, reason, force, expected, worker)

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
            raise ConflictError(
                f"task {current.id} is '{current.status.value}', expected one of "
                f"{[s.value for s in expected]}; someone else changed it first"
            )
        if not force:
            check_transition(current.id, current.status, status)
        now = time.time()
        sets = ["status = ?", "last_update = ?"]
        args: list[Any] = [status.value, now]
        changes: dict[str, Any] = {"status": status, "last_update": now}
        if message is not None or status != current.status:
            sets.append("status_message = ?")
            args.append(message or "")
            changes["status_message"] = message or ""
        if reason is not None or status != current.status:
            sets.append("status_reason = ?")
            args.append(reason or "")
            changes["status_reason"] = reason or ""
        if status == TaskStatus.in_progress and current.status != TaskStatus.in_progress:
            sets += ["started = ?", "completed = NULL"]
            args.append(now)
            changes.update(started=now, completed=None)
        elif status in FINAL_STATUSES and current.status not in FINAL_STATUSES:
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
        if current.status == TaskStatus.queued and status != TaskStatus.queued:
            self._db.execute("DELETE FROM queue_entries WHERE task_id = ?", (current.id,))
        self._db.execute(f"UPDATE tasks SET {', '.join(sets)} WHERE id = ?", (*args, current.id))
        if status != current.status:
            self._event(
                "task.status",
                current.id,
                {"status": status.value, "previous": current.status.value, "parent": current.parent},
            )
        return replace(current, **changes)

    def delete_task(self, task_id: str) -> None:
        with self._db.transaction():
            self._locked_task(task_id)
            for table in ("task_params", "task_configs", "artifacts", "models", "scalars", "plots", "logs"):
                self._db.execute(f"DELETE FROM {table} WHERE task_id = ?", (task_id,))
            self._db.execute("DELETE FROM pipeline_nodes WHERE run_id = ?", (task_id,))
            self._db.execute("DELETE FROM queue_entries WHERE task_id = ?", (task_id,))
            self._db.execute("DELETE FROM tasks WHERE id = ?", (task_id,))

    def _touch(self, task_id: str) -> None:
        if not self._db.execute(
            "UPDATE tasks SET last_update = ? WHERE id = ? RETURNING id", (time.time(), task_id)
        ):
            raise TaskNotFoundError(task_id)

    # -- parameters and configuration ---------------------------------------------------------

    def set_params(self, task_id: str, params: Iterable[Param], *, replace: bool = False) -> None:
        plist = list(params)
        with self._db.transaction():
            self._touch(task_id)
            if replace:
                self._db.execute("DELETE FROM task_params WHERE task_id = ?", (task_id,))
            base = self._db.execute(
                "SELECT COALESCE(MAX(position), 0) FROM task_params WHERE task_id = ?", (task_id,)
            )[0][0]
            self._db.executemany(
                "INSERT INTO task_params (task_id, section, name, value, type, description, position) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (task_id, section, name) DO UPDATE SET "
                "value = excluded.value, type = excluded.type, description = CASE WHEN "
                "excluded.description = '' THEN task_params.description ELSE excluded.description END",
                [
                    (task_id, p.section, p.name, _dumps(p.value), p.type, p.description, base + i + 1)
                    for i, p in enumerate(plist)
                ],
            )

    def get_params(self, task_id: str) -> list[Param]:
        rows = self._db.execute(
            "SELECT section, name, value, type, description FROM task_params WHERE task_id = ? "
            "ORDER BY section, position",
            (task_id,),
        )
        if not rows:
            self.get_task(task_id)  # raises TaskNotFoundError for an unknown task
        return [Param(r[0], r[1], json.loads(r[2]), r[3], r[4]) for r in rows]

    def delete_params(self, task_id: str, keys: Iterable[tuple[str, str]]) -> None:
        with self._db.transaction():
            self._touch(task_id)
            self._db.executemany(
                "DELETE FROM task_params WHERE task_id = ? AND section = ? AND name = ?",
                [(task_id, s, n) for s, n in keys],
            )

    def set_config(self, task_id: str, config: ConfigObject) -> None:
        with self._db.transaction():
            self._touch(task_id)
            self._db.execute(
                "INSERT INTO task_configs (task_id, name, type, description, value) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (task_id, name) DO UPDATE SET type = excluded.type, "
                "description = excluded.description, value = excluded.value",
                (task_id, config.name, config.type, config.description, config.value),
            )

    def get_configs(self, task_id: str) -> list[ConfigObject]:
        rows = self._db.execute(
            "SELECT name, value, type, description FROM task_configs WHERE task_id = ? ORDER BY name",
            (task_id,),
        )
        if not rows:
            self.get_task(task_id)
        return [ConfigObject(r[0], r[1], r[2], r[3]) for r in rows]

    # -- outputs ------------------------------------------------------------------------------

    def put_artifact(self, artifact: ArtifactRecord) -> None:
        a = artifact
        with self._db.transaction():
            self._touch(a.task_id)
            pos = self._db.execute(
                "SELECT COALESCE(MAX(position), 0) + 1 FROM artifacts WHERE task_id = ?", (a.task_id,)
            )[0][0]
            self._db.execute(
                "INSERT INTO artifacts (task_id, name, uri, type, format, size, hash, mode, metadata, "
                "preview, timestamp, position) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (task_id, name) DO UPDATE SET uri = excluded.uri, type = excluded.type, "
                "format = excluded.format, size = excluded.size, hash = excluded.hash, "
                "mode = excluded.mode, metadata = excluded.metadata, preview = excluded.preview, "
                "timestamp = excluded.timestamp",
                (
                    a.task_id,
                    a.name,
                    a.uri,
                    a.type,
                    a.format,
                    a.size,
                    a.hash,
                    a.mode,
                    _dumps(a.metadata),
                    a.preview,
                    a.timestamp or time.time(),
                    pos,
                ),
            )

    def get_artifacts(self, task_id: str) -> list[ArtifactRecord]:
        rows = self._db.execute(
            "SELECT task_id, name, uri, type, format, size, hash, mode, metadata, preview, timestamp "
            "FROM artifacts WHERE task_id = ? ORDER BY position",
            (task_id,),
        )
        return [
            ArtifactRecord(
                r[0], r[1], r[2], r[3], r[4], int(r[5]), r[6], r[7], json.loads(r[8]), r[9], float(r[10])
            )
            for r in rows
        ]

    def delete_artifact(self, task_id: str, name: str) -> None:
        with self._db.transaction():
            self._touch(task_id)
            self._db.execute("DELETE FROM artifacts WHERE task_id = ? AND name = ?", (task_id, name))

    def add_model(self, model: ModelRecord) -> None:
        with self._db.transaction():
            self._touch(model.task_id)
            self._db.execute(
                "INSERT INTO models (id, task_id, name, uri, mode, framework, timestamp) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    model.id or new_id(),
                    model.task_id,
                    model.name,
                    model.uri,
                    model.mode,
                    model.framework,
                    model.timestamp or time.time(),
                ),
            )

    def get_models(self, task_id: str) -> list[ModelRecord]:
        rows = self._db.execute(
            "SELECT task_id, id, name, uri, mode, framework, timestamp FROM models WHERE task_id = ? "
            "ORDER BY timestamp, id",
            (task_id,),
        )
        return [ModelRecord(r[0], r[1], r[2], r[3], r[4], r[5], float(r[6])) for r in rows]

    def add_scalars(self, task_id: str, points: Sequence[ScalarPoint]) -> None:
        now = time.time()
        with self._db.transaction():
            self._touch(task_id)
            self._db.executemany(
                "INSERT INTO scalars (task_id, title, series, iteration, value, timestamp) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [(task_id, p.title, p.series, p.iteration, p.value, p.timestamp or now) for p in points],
            )

    def get_scalars(self, task_id: str) -> list[ScalarPoint]:
        rows = self._db.execute(
            "SELECT title, series, iteration, value, timestamp FROM scalars WHERE task_id = ? "
            "ORDER BY title, series, iteration, id",
            (task_id,),
        )
        return [ScalarPoint(r[0], r[1], int(r[2]), float(r[3]), float(r[4])) for r in rows]

    def add_plot(self, task_id: str, plot: PlotRecord) -> None:
        with self._db.transaction():
            self._touch(task_id)
            self._db.execute(
                "INSERT INTO plots (task_id, title, series, iteration, kind, data, timestamp) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    task_id,
                    plot.title,
                    plot.series,
                    plot.iteration,
                    plot.kind,
                    _dumps(plot.data),
                    plot.timestamp or time.time(),
                ),
            )

    def get_plots(self, task_id: str) -> list[PlotRecord]:
        rows = self._db.execute(
            "SELECT title, series, iteration, kind, data, timestamp FROM plots WHERE task_id = ? ORDER BY id",
            (task_id,),
        )
        return [PlotRecord(r[0], r[1], int(r[2]), r[3], json.loads(r[4]), float(r[5])) for r in rows]

    def append_log(self, task_id: str, lines: Sequence[LogLine]) -> int:
        now = time.time()
        with self._db.transaction():
            self._locked_task(task_id)  # serialises concurrent appenders of one task
            last = int(
                self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM logs WHERE task_id = ?", (task_id,))[0][0]
            )
            self._db.executemany(
                "INSERT INTO logs (task_id, seq, timestamp, level, stream, text) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (task_id, last + i + 1, ln.timestamp or now, ln.level, ln.stream, ln.text)
                    for i, ln in enumerate(lines)
                ],
            )
            self._db.execute("UPDATE tasks SET last_update = ? WHERE id = ?", (now, task_id))
            self._event("task.log", task_id, {"last_seq": last + len(lines)})
        return last + len(lines)

    def get_log(
        self, task_id: str, *, after: int = 0, limit: int | None = None, tail: int | None = None
    ) -> list[LogLine]:
        check_log_window(limit, tail)
        columns = "text, level, timestamp, seq, stream"
        sql = f"SELECT {columns} FROM logs WHERE task_id = ? AND seq > ? ORDER BY seq"
        args: list[Any] = [task_id, after]
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        elif tail is not None:  # the newest lines through the (task_id, seq) key, then in order
            sql = f"SELECT {columns} FROM ({sql} DESC LIMIT ?) newest ORDER BY seq"
            args.append(tail)
        return [LogLine(r[0], r[1], float(r[2]), int(r[3]), r[4]) for r in self._db.execute(sql, args)]

    # -- pipelines --------------------------------------------------------------------------

    def put_nodes(self, run_id: str, nodes: Sequence[tuple[str, dict[str, JSONValue]]]) -> None:
        if not nodes:
            return
        now = time.time()
        with self._db.transaction():
            base = int(
                self._db.execute(
                    "SELECT COALESCE(MAX(position), 0) FROM pipeline_nodes WHERE run_id = ?", (run_id,)
                )[0][0]
            )
            self._db.executemany(
                "INSERT INTO pipeline_nodes (run_id, name, position, data, last_update) "
                "VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (run_id, name) DO UPDATE SET data = excluded.data, "
                "last_update = excluded.last_update",
                [(run_id, name, base + i + 1, _dumps(data), now) for i, (name, data) in enumerate(nodes)],
            )
            self._event("pipeline.nodes", run_id, {"names": [name for name, _ in nodes]})

    def get_nodes(self, run_id: str) -> list[tuple[str, dict[str, JSONValue]]]:
        rows = self._db.execute(
            "SELECT name, data FROM pipeline_nodes WHERE run_id = ? ORDER BY position", (run_id,)
        )
        return [(r[0], json.loads(r[1])) for r in rows]

    def find_by_cache_key(self, key: str) -> list[TaskRecord]:
        if not key:
            return []
        rows = self._db.execute(
            f"SELECT {_TASK_COLUMNS} FROM tasks WHERE cache_key = ? AND status IN ('completed', 'published') "
            "ORDER BY completed DESC, id",
            (key,),
        )
        return [_row_to_task(r) for r in rows]

    # -- agents -------------------------------------------------------------------------------

    def register_worker(
        self, worker_id: str, queues: Sequence[str], info: dict[str, JSONValue]
    ) -> WorkerRecord:
        now = time.time()
        with self._db.transaction():
            self._db.execute(
                "INSERT INTO workers (id, queues, info, task_id, registered, last_seen) "
                "VALUES (?, ?, ?, NULL, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET queues = excluded.queues, info = excluded.info, "
                "last_seen = excluded.last_seen",
                (worker_id, _dumps(list(queues)), _dumps(info), now, now),
            )
            self._event("worker.changed", None, {"worker": worker_id, "queues": list(queues)})
        return next(w for w in self.list_workers() if w.id == worker_id)

    def heartbeat(self, worker_id: str, task_id: str | None = None) -> None:
        with self._db.transaction():
            rows = self._db.execute(
                f"SELECT task_id FROM workers WHERE id = ?{self._db.for_update}", (worker_id,)
            )
            if not rows:
                raise NotFoundError(
                    f"no agent '{worker_id}' is registered; it must register before heartbeats"
                )
            self._db.execute(
                "UPDATE workers SET last_seen = ?, task_id = ? WHERE id = ?",
                (time.time(), task_id, worker_id),
            )
            if rows[0][0] != task_id:
                self._event("worker.changed", task_id, {"worker": worker_id, "task_id": task_id})

    def list_workers(self) -> list[WorkerRecord]:
        rows = self._db.execute(
            "SELECT id, queues, info, task_id, registered, last_seen FROM workers ORDER BY id"
        )
        return [
            WorkerRecord(r[0], tuple(json.loads(r[1])), json.loads(r[2]), r[3], float(r[4]), float(r[5]))
            for r in rows
        ]

    def unregister_worker(self, worker_id: str) -> None:
        with self._db.transaction():
            if self._db.execute("DELETE FROM workers WHERE id = ? RETURNING id", (worker_id,)):
                self._event("worker.changed", None, {"worker": worker_id, "gone": True})

    # -- events -------------------------------------------------------------------------------

    def _event(self, kind: str, task_id: str | None, data: dict[str, JSONValue]) -> None:
        """Append an event; called inside the transaction that makes the change."""
        rows = self._db.execute(
            "INSERT INTO events (time, kind, task_id, data) VALUES (?, ?, ?, ?) RETURNING id",
            (time.time(), kind, task_id, _dumps(data)),
        )
        event_id = int(rows[0][0])
        if event_id % _EVENT_PRUNE_EVERY == 0:
            self._db.execute("DELETE FROM events WHERE id <= ?", (event_id - _EVENTS_KEPT,))
        if self._db.dialect == "postgresql":
            self._db.execute("SELECT pg_notify('taskmill_events', ?)", (str(event_id),))

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

    # -- projects ---------------------------------------------------------------------------

    def _ensure_project_tx(self, name: str, system_tags: Sequence[str]) -> None:
        if name in self._projects_seen and not system_tags:
            return
        now = time.time()
        for ancestor in project_ancestors(name):
            self._db.execute(
                "INSERT INTO projects (name, created, system_tags) VALUES (?, ?, '[]') "
                "ON CONFLICT (name) DO NOTHING",
                (ancestor, now),
            )
        if system_tags:
            rows = self._db.execute(
                f"SELECT system_tags FROM projects WHERE name = ?{self._db.for_update}", (name,)
            )
            tags = list(json.loads(rows[0][0]))
            tags += [t for t in system_tags if t not in tags]
            self._db.execute("UPDATE projects SET system_tags = ? WHERE name = ?", (_dumps(tags), name))
        self._projects_seen.add(name)

    def ensure_project(self, name: str, system_tags: Sequence[str] = ()) -> ProjectRecord:
        with self._db.transaction():
            self._ensure_project_tx(name, system_tags)
        return next(p for p in self._projects(name) if p.name == name)

    def _projects(self, only: str | None = None) -> list[ProjectRecord]:
        sql = (
            "SELECT p.name, p.created, p.system_tags, COUNT(t.id) FROM projects p "
            "LEFT JOIN tasks t ON t.project = p.name"
        )
        args: list[Any] = []
        if only is not None:
            sql += " WHERE p.name = ?"
            args.append(only)
        sql += " GROUP BY p.name, p.created, p.system_tags ORDER BY p.name"
        return [
            ProjectRecord(r[0], float(r[1]), tuple(json.loads(r[2])), int(r[3]))
            for r in self._db.execute(sql, args)
        ]

    def list_projects(self, *, include_hidden: bool = False) -> list[ProjectRecord]:
        projects = self._projects()
        return projects if include_hidden else [p for p in projects if not p.hidden]

    # -- queues -----------------------------------------------------------------------------

    def create_queue(self, name: str) -> QueueRecord:
        if not name or not name.strip():
            raise ValueError("queue name is empty")
        with self._db.transaction():
            created = self._db.execute(
                "INSERT INTO queues (id, name, created) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO NOTHING RETURNING id",
                (new_id(), name, time.time()),
            )
            if created:
                self._event("queue.changed", None, {"queue": name, "created": True})
        return self.get_queue(name)

    def _queue_id(self, name: str) -> str:
        rows = self._db.execute("SELECT id FROM queues WHERE name = ?", (name,))
        if not rows:
            raise QueueNotFoundError(name)
        return str(rows[0][0])

    def get_queue(self, name: str) -> QueueRecord:
        rows = self._db.execute(
            "SELECT q.id, q.name, q.created, COUNT(e.id) FROM queues q "
            "LEFT JOIN queue_entries e ON e.queue_id = q.id WHERE q.name = ? "
            "GROUP BY q.id, q.name, q.created",
            (name,),
        )
        if not rows:
            raise QueueNotFoundError(name)
        r = rows[0]
        return QueueRecord(r[0], r[1], float(r[2]), int(r[3]))

    def list_queues(self) -> list[QueueRecord]:
        rows = self._db.execute(
            "SELECT q.id, q.name, q.created, COUNT(e.id) FROM queues q "
            "LEFT JOIN queue_entries e ON e.queue_id = q.id GROUP BY q.id, q.name, q.created ORDER BY q.name"
        )
        return [QueueRecord(r[0], r[1], float(r[2]), int(r[3])) for r in rows]

    def delete_queue(self, name: str, *, force: bool = False) -> None:
        with self._db.transaction():
            qid = self._queue_id(name)
            waiting = [
                r[0] for r in self._db.execute("SELECT task_id FROM queue_entries WHERE queue_id = ?", (qid,))
            ]
            if waiting and not force:
                raise ConflictError(
                    f"queue '{name}' still holds {len(waiting)} task(s); dequeue them first or delete "
                    "with force (they go back to draft)"
                )
            for task_id in waiting:
                self._apply_status(
                    self._locked_task(task_id),
                    TaskStatus.created,
                    "queue deleted",
                    None,
                    False,
                    (),
                    None,
                    queue="",
                )
            self._db.execute("DELETE FROM queues WHERE id = ?", (qid,))
            self._event("queue.changed", None, {"queue": name, "deleted": True})

    def enqueue(self, task_id: str, queue: str, *, priority: int = 0) -> TaskRecord:
        with self._db.transaction():
            qid = self._queue_id(queue)
            current = self._locked_task(task_id)
            if current.status == TaskStatus.queued:
                raise ConflictError(f"task {task_id} is already queued in '{current.queue}'")
            self._apply_status(current, TaskStatus.queued, "", None, False, (), None, queue=queue)
            self._db.execute(
                "INSERT INTO queue_entries (queue_id, task_id, priority, added) VALUES (?, ?, ?, ?)",
                (qid, task_id, priority, time.time()),
            )
        return self.get_task(task_id)

    def dequeue(self, task_id: str) -> TaskRecord:
        with self._db.transaction():
            current = self._locked_task(task_id)
            if current.status != TaskStatus.queued:
                raise ConflictError(
                    f"task {task_id} is '{current.status.value}', not queued; nothing to dequeue"
                )
            self._apply_status(current, TaskStatus.created, "dequeued", None, False, (), None)
        return self.get_task(task_id)

    def queue_entries(self, queue: str) -> list[QueueEntry]:
        qid = self._queue_id(queue)
        rows = self._db.execute(
            "SELECT task_id, priority, added FROM queue_entries WHERE queue_id = ? "
            "ORDER BY priority DESC, id",
            (qid,),
        )
        return [QueueEntry(queue, r[0], int(r[1]), float(r[2])) for r in rows]

    def claim(self, queues: Sequence[str], worker: str) -> TaskRecord | None:
        ids = {q: self._queue_id(q) for q in queues}
        for queue in queues:
            with self._db.transaction():
                rows = self._db.execute(
                    "SELECT id, task_id FROM queue_entries WHERE queue_id = ? "
                    f"ORDER BY priority DESC, id LIMIT 1{self._db.skip_locked}",
                    (ids[queue],),
                )
                if not rows:
                    continue
                entry_id, task_id = rows[0]
                self._db.execute("DELETE FROM queue_entries WHERE id = ?", (entry_id,))
                current = self._locked_task(task_id)
                self._apply_status(
                    current,
                    TaskStatus.in_progress,
                    f"claimed by {worker}",
                    None,
                    True,
                    (),
                    worker,
                    queue=queue,
                )
            return self.get_task(task_id)
        return None

    # -- API keys -------------------------------------------------------------------------------

    def create_api_key(self, name: str = "") -> tuple[str, str]:
        key_id = api_keys.new_key_id()
        secret = api_keys.new_secret(key_id)
        salt = api_keys.new_salt()
        with self._db.transaction():
            self._db.execute(
                "INSERT INTO api_keys (id, name, salt, hash, created, revoked) VALUES (?, ?, ?, ?, ?, NULL)",
                (key_id, name, salt, api_keys.hash_secret(secret, salt), time.time()),
            )
        return key_id, secret

    def list_api_keys(self) -> list[ApiKeyRecord]:
        rows = self._db.execute("SELECT id, name, created, revoked FROM api_keys ORDER BY created, id")
        return [ApiKeyRecord(r[0], r[1], float(r[2]), None if r[3] is None else float(r[3])) for r in rows]

    def revoke_api_key(self, key_id: str) -> None:
        with self._db.transaction():
            rows = self._db.execute(
                f"SELECT revoked FROM api_keys WHERE id = ?{self._db.for_update}", (key_id,)
            )
            if not rows:
                raise NotFoundError(
                    f"no API key with id '{key_id}'; list keys with `taskmill server list-keys`"
                )
            if rows[0][0] is None:
                self._db.execute("UPDATE api_keys SET revoked = ? WHERE id = ?", (time.time(), key_id))

    def find_api_key(self, secret: str) -> ApiKeyRecord | None:
        key_id = api_keys.key_id_of(secret)
        if key_id is None:
            return None
        rows = self._db.execute(
            "SELECT id, name, created, revoked, salt, hash FROM api_keys WHERE id = ?", (key_id,)
        )
        if not rows or not api_keys.matches(secret, rows[0][4], rows[0][5]):
            return None
        r = rows[0]
        return ApiKeyRecord(r[0], r[1], float(r[2]), None if r[3] is None else float(r[3]))
