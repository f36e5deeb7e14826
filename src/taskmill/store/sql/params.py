"""Hyperparameters and configuration objects of a task in the SQL store.

Parameters are upserted by ``(section, name)`` and keep their first position, so a task's
parameters list in the order they were first set; values are stored as JSON and come back with
their type. Each write is one transaction that also marks the task changed (``last_update``) and
raises :class:`~taskmill.errors.TaskNotFoundError` for an unknown task.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from taskmill.core.model import ConfigObject, Param
from taskmill.store.sql.connection import SqlStoreBase, dumps


class ParamsMixin(SqlStoreBase):
    """``set_params``/``get_params``/``delete_params``/``set_config``/``get_configs``."""

    def set_params(self, task_id: str, params: Iterable[Param], *, replace: bool = False) -> None:
        plist = list(params)
        with self._db.transaction():
            self._touch(task_id)
            if replace:
                self._db.execute("DELETE FROM task_params WHERE task_id = ?", (task_id,))
            # each new row takes the next position after the task's last one (read by the insert
            # itself: one statement per row, no separate MAX query)
            self._db.executemany(
                "INSERT INTO task_params (task_id, section, name, value, type, description, position) "
                "VALUES (?, ?, ?, ?, ?, ?, (SELECT COALESCE(MAX(position), 0) + 1 FROM task_params "
                "WHERE task_id = ?)) ON CONFLICT (task_id, section, name) DO UPDATE SET "
                "value = excluded.value, type = excluded.type, description = CASE WHEN "
                "excluded.description = '' THEN task_params.description ELSE excluded.description END",
                [(task_id, p.section, p.name, dumps(p.value), p.type, p.description, task_id) for p in plist],
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
