"""Projects in the SQL store: the hierarchy of names tasks live in.

A project and all its ancestors (``a``, ``a/b`` for ``a/b/c``) exist as soon as a task names it;
creating them is idempotent (``ON CONFLICT DO NOTHING``) and happens inside the task's own write
transaction. Task counts are computed on read, never stored.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from taskmill.core.model import ProjectRecord, project_ancestors
from taskmill.store.sql.connection import SqlStoreBase, dumps


class ProjectsMixin(SqlStoreBase):
    """``ensure_project``/``list_projects`` and the project upsert that task writes share."""

    def __init__(self, url: str, *, create: bool = True) -> None:
        super().__init__(url, create=create)
        # Names this instance has already created: saves a write per task. Only a cache: a
        # project deleted behind our back is impossible (projects are never deleted).
        self._projects_seen: set[str] = set()

    def _ensure_project_tx(self, name: str, system_tags: Sequence[str]) -> None:
        """Create ``name`` and its ancestors, adding ``system_tags``; inside a transaction."""
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
            self._db.execute("UPDATE projects SET system_tags = ? WHERE name = ?", (dumps(tags), name))
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
