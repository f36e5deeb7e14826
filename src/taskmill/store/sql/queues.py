"""Execution queues in the SQL store: create, enqueue, dequeue, and claiming work.

Entries are ordered by priority (highest first), then by arrival. :meth:`QueuesMixin.claim` takes
the first entry of the first non-empty queue and moves its task to ``in_progress`` in one
transaction; on PostgreSQL it skips entries another claimer holds (``FOR UPDATE SKIP LOCKED``), on
SQLite the database write lock makes claimers take turns. It never waits for work: empty queues
give ``None``. A claim with a request id is idempotent: the task it took is remembered on the
task row (``claim_request``) and a repeat returns it. Enqueueing and dequeueing are status
changes checked by the task state machine.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from taskmill.core.model import QueueEntry, QueueRecord, TaskRecord, new_id
from taskmill.core.states import TaskStatus
from taskmill.errors import ConflictError, QueueNotFoundError
from taskmill.store.sql.tasks import TasksMixin


class QueuesMixin(TasksMixin):
    """The queue half of :class:`~taskmill.store.base.TaskStore`; moves tasks through their status."""

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

    def claim(
        self, queues: Sequence[str], worker: str, *, request_id: str | None = None
    ) -> TaskRecord | None:
        ids = {q: self._queue_id(q) for q in queues}
        for queue in queues:
            with self._db.transaction():
                # Inside the write transaction: on SQLite a first try still running holds the
                # lock, so its repeat waits for it and then sees its claim.
                done = request_id and self._db.execute(
                    "SELECT id FROM tasks WHERE claim_request = ?", (request_id,)
                )
                if done:
                    return self.get_task(str(done[0][0]))
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
                self._db.execute(
                    "UPDATE tasks SET claim_request = ?, attempt = attempt + 1 WHERE id = ?",
                    (request_id or None, task_id),
                )
            return self.get_task(task_id)
        return None
