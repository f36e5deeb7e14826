"""What a task produces, in the SQL store: artifacts, models, scalars, plots, log lines, pipeline nodes.

Artifacts upsert by name and keep their first position; models, scalars and plots are appended
(a model record can be moved to another task: :meth:`OutputsMixin.move_model`).
Scalars, plots and parameters keep NaN and ±Infinity as reported (a NaN scalar is stored NULL).
Log lines get consecutive sequence numbers per task: appenders of one task are serialised by
locking the task row, so two processes logging at once never share a number. Each write is one
transaction that also marks the task changed; log and node writes append their event in it.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from typing import Any

from taskmill.core.model import ArtifactRecord, LogLine, ModelRecord, PlotRecord, ScalarPoint, new_id
from taskmill.errors import NotFoundError
from taskmill.store.base import check_log_window
from taskmill.store.sql.connection import SqlStoreBase, dumps
from taskmill.types import JSONValue


def _nan_to_null(value: float) -> float | None:
    """A scalar as stored: NaN as NULL (SQLite cannot hold a NaN; ±Infinity it can)."""
    value = float(value)
    return None if math.isnan(value) else value


class OutputsMixin(SqlStoreBase):
    """The outputs half of :class:`~taskmill.store.base.TaskStore` (semantics documented there)."""

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
                    dumps(a.metadata),
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

    def move_model(self, model_id: str, task_id: str, *, name: str | None = None) -> ModelRecord:
        with self._db.transaction():
            rows = self._db.execute(
                f"SELECT task_id, name, timestamp FROM models WHERE id = ?{self._db.for_update}", (model_id,)
            )
            if not rows:
                raise NotFoundError(
                    f"no model record with id '{model_id}' in the store; a task's models are listed "
                    "by `taskmill tasks show <task id>`"
                )
            old_task, old_name, stamp = rows[0]
            self._touch(task_id)
            if old_task != task_id:
                self._touch(old_task)
                stamp = time.time()  # the newest model of its new task, as ClearML appends it
            self._db.execute(
                "UPDATE models SET task_id = ?, name = ?, timestamp = ? WHERE id = ?",
                (task_id, old_name if name is None else name, stamp, model_id),
            )
            r = self._db.execute(
                "SELECT task_id, id, name, uri, mode, framework, timestamp FROM models WHERE id = ?",
                (model_id,),
            )[0]
        return ModelRecord(r[0], r[1], r[2], r[3], r[4], r[5], float(r[6]))

    def referenced_uris(self) -> set[str]:
        """Every location an artifact or model record points at (what ``store gc`` must keep).

        Beyond the contract: garbage collection runs beside the database, not over HTTP.
        """
        rows = self._db.execute("SELECT uri FROM artifacts UNION SELECT uri FROM models")
        return {str(r[0]) for r in rows if r[0]}

    def add_scalars(self, task_id: str, points: Sequence[ScalarPoint]) -> None:
        now = time.time()
        with self._db.transaction():
            self._touch(task_id)
            self._db.executemany(
                "INSERT INTO scalars (task_id, title, series, iteration, value, timestamp) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (task_id, p.title, p.series, p.iteration, _nan_to_null(p.value), p.timestamp or now)
                    for p in points
                ],
            )

    def get_scalars(self, task_id: str) -> list[ScalarPoint]:
        rows = self._db.execute(
            "SELECT title, series, iteration, value, timestamp FROM scalars WHERE task_id = ? "
            "ORDER BY title, series, iteration, id",
            (task_id,),
        )
        return [
            ScalarPoint(r[0], r[1], int(r[2]), math.nan if r[3] is None else float(r[3]), float(r[4]))
            for r in rows
        ]

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
                    dumps(plot.data),
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
            self._check_fence(task_id)
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
                [(run_id, name, base + i + 1, dumps(data), now) for i, (name, data) in enumerate(nodes)],
            )
            self._event("pipeline.nodes", run_id, {"names": [name for name, _ in nodes]})

    def get_nodes(self, run_id: str) -> list[tuple[str, dict[str, JSONValue]]]:
        rows = self._db.execute(
            "SELECT name, data FROM pipeline_nodes WHERE run_id = ? ORDER BY position", (run_id,)
        )
        return [(r[0], json.loads(r[1])) for r in rows]
