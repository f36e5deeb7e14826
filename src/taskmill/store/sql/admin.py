"""Administration records in the SQL store: agents (workers) and the API keys of a ``taskmill server``.

Worker registration is an idempotent upsert; a heartbeat of an unregistered worker is refused
(:class:`~taskmill.errors.NotFoundError`) so a forgotten agent re-registers. API key secrets are
never stored: only a salted hash (see :mod:`taskmill.store.api_keys`); revoking is idempotent.
The first key a store gets is an admin key unless a role is given.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

from taskmill.core.model import WorkerRecord
from taskmill.errors import NotFoundError
from taskmill.store import api_keys
from taskmill.store.base import ApiKeyRecord
from taskmill.store.sql.connection import SqlStoreBase, dumps
from taskmill.store.sql.db import Row
from taskmill.types import JSONValue


def _key(r: Row) -> ApiKeyRecord:
    """An :class:`ApiKeyRecord` from ``id, name, created, revoked, role``."""
    return ApiKeyRecord(r[0], r[1], float(r[2]), None if r[3] is None else float(r[3]), r[4])


class AdminMixin(SqlStoreBase):
    """Workers and API keys of :class:`~taskmill.store.base.TaskStore` (semantics documented there)."""

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
                (worker_id, dumps(list(queues)), dumps(info), now, now),
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

    def create_api_key(self, name: str = "", *, role: str | None = None) -> tuple[str, str]:
        if role is not None:
            api_keys.check_role(role)
        key_id = api_keys.new_key_id()
        secret = api_keys.new_secret(key_id)
        salt = api_keys.new_salt()
        with self._db.transaction():
            if role is None:  # decided inside the transaction: of two first keys, one is admin
                if self._db.dialect == "postgresql":
                    self._db.execute("LOCK TABLE api_keys IN SHARE ROW EXCLUSIVE MODE")
                first = not self._db.execute("SELECT 1 FROM api_keys LIMIT 1")
                role = api_keys.ADMIN_ROLE if first else api_keys.USER_ROLE
            self._db.execute(
                "INSERT INTO api_keys (id, name, salt, hash, created, revoked, role) "
                "VALUES (?, ?, ?, ?, ?, NULL, ?)",
                (key_id, name, salt, api_keys.hash_secret(secret, salt), time.time(), role),
            )
        return key_id, secret

    def list_api_keys(self) -> list[ApiKeyRecord]:
        rows = self._db.execute("SELECT id, name, created, revoked, role FROM api_keys ORDER BY created, id")
        return [_key(r) for r in rows]

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
            "SELECT id, name, created, revoked, role, salt, hash FROM api_keys WHERE id = ?", (key_id,)
        )
        if not rows or not api_keys.matches(secret, rows[0][5], rows[0][6]):
            return None
        return _key(rows[0])
