"""Routes for projects, queues, agents (workers), API keys and the event feed's position.

Each route is one :class:`~taskmill.store.base.TaskStore` call with the same semantics.
Only admin keys may create, list and revoke API keys (403 for a user key); looking up the
key of a secret one holds is open to every key. On a server without authentication there is
no caller, and everything is allowed.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import HTTPException, Query

from taskmill.server.operations import OperationRouter
from taskmill.server.schemas import (
    ApiKeyModel,
    ClaimBody,
    ClaimResult,
    DeleteQueueQuery,
    EnqueueBody,
    FoundKey,
    HeartbeatBody,
    KeyBody,
    LastEvent,
    NewKey,
    ProjectBody,
    ProjectModel,
    ProjectsQuery,
    QueueBody,
    QueueEntryModel,
    QueueModel,
    SecretBody,
    TaskModel,
    WorkerBody,
    WorkerModel,
)
from taskmill.store import wire
from taskmill.store.base import TaskStore

Json = Any


def add_admin_routes(ops: OperationRouter, store: TaskStore) -> None:
    """Register the project, queue, worker, key and event-position routes of ``store`` on ``ops``."""

    # -- projects ---------------------------------------------------------------------------

    @ops.add("GET", "/projects", "list_projects", response_model=list[ProjectModel])
    def list_projects(q: Annotated[ProjectsQuery, Query()]) -> Json:
        """Projects by name with their task counts (hidden ones only with ``include_hidden``)."""
        return [wire.to_wire(p) for p in store.list_projects(include_hidden=q.include_hidden)]

    @ops.add("POST", "/projects", "ensure_project", response_model=ProjectModel)
    def ensure_project(body: ProjectBody) -> Json:
        """Create the project and its parents if missing (idempotent); adds ``system_tags``."""
        return wire.to_wire(store.ensure_project(body.name, body.system_tags))

    # -- queues -----------------------------------------------------------------------------

    @ops.add("GET", "/queues", "list_queues", response_model=list[QueueModel])
    def list_queues() -> Json:
        """All queues with their depth."""
        return [wire.to_wire(q) for q in store.list_queues()]

    @ops.add("POST", "/queues", "create_queue", response_model=QueueModel)
    def create_queue(body: QueueBody) -> Json:
        """Create a queue; idempotent (returns the existing one)."""
        return wire.to_wire(store.create_queue(body.name))

    @ops.add("POST", "/queues/claim", "claim", response_model=ClaimResult)
    def claim(body: ClaimBody) -> Json:
        """Atomically take the next task of the first non-empty queue (never the same task
        twice); ``task`` is null when every queue is empty. 404 for an unknown queue.
        Repeated with the same ``request_id``, it returns the task that id claimed."""
        rec = store.claim(body.queues, body.worker, request_id=body.request_id)
        return {"task": None if rec is None else wire.to_wire(rec)}

    @ops.add("GET", "/queues/{name:path}/entries", "queue_entries", response_model=list[QueueEntryModel])
    def queue_entries(name: str) -> Json:
        """The tasks waiting in the queue, in the order they will be served."""
        return [wire.to_wire(e) for e in store.queue_entries(name)]

    @ops.add("POST", "/queues/{name:path}/enqueue", "enqueue", response_model=TaskModel)
    def enqueue(name: str, body: EnqueueBody) -> Json:
        """Put the task in the queue and set it queued (404 unknown queue, 409 bad status)."""
        return wire.to_wire(store.enqueue(body.task_id, name, priority=body.priority))

    @ops.add("GET", "/queues/{name:path}", "get_queue", response_model=QueueModel)
    def get_queue(name: str) -> Json:
        """The queue; 404 naming it if there is none."""
        return wire.to_wire(store.get_queue(name))

    @ops.add("DELETE", "/queues/{name:path}", "delete_queue", status_code=204)
    def delete_queue(name: str, q: Annotated[DeleteQueueQuery, Query()]) -> None:
        """Delete a queue; 409 while tasks wait in it unless ``force`` (they go back to draft)."""
        store.delete_queue(name, force=q.force)

    # -- agents -------------------------------------------------------------------------------

    @ops.add("GET", "/workers", "list_workers", response_model=list[WorkerModel])
    def list_workers() -> Json:
        """All registered agents, by id."""
        return [wire.to_wire(w) for w in store.list_workers()]

    @ops.add("POST", "/workers", "register_worker", response_model=WorkerModel)
    def register_worker(body: WorkerBody) -> Json:
        """Create or refresh an agent's record (idempotent); counts as a heartbeat."""
        return wire.to_wire(store.register_worker(body.id, body.queues, dict(body.info)))

    @ops.add("POST", "/workers/{worker_id:path}/heartbeat", "heartbeat", status_code=204)
    def heartbeat(worker_id: str, body: HeartbeatBody) -> None:
        """Record that the agent is alive and what it runs now; 404 if it is not registered."""
        store.heartbeat(worker_id, body.task_id)

    @ops.add("DELETE", "/workers/{worker_id:path}", "unregister_worker", status_code=204)
    def unregister_worker(worker_id: str) -> None:
        """Forget an agent (idempotent)."""
        store.unregister_worker(worker_id)

    # -- API keys -----------------------------------------------------------------------------

    def require_admin(action: str) -> None:
        caller = store.current_caller()  # set by the key check; None when auth is off
        if caller is not None and not caller.is_admin:
            raise HTTPException(
                403,
                f"only admin keys may {action}; key {caller.id} ({caller.name or 'unnamed'}) is a "
                "user key. Use an admin key, or `taskmill server create-key --role admin` on the server",
            )

    @ops.add("GET", "/keys", "list_api_keys", response_model=list[ApiKeyModel])
    def list_api_keys() -> Json:
        """All API keys, revoked ones included (never their secrets). Admin keys only."""
        require_admin("list API keys")
        return [k.to_dict() for k in store.list_api_keys()]

    @ops.add("POST", "/keys", "create_api_key", status_code=201, response_model=NewKey)
    def create_api_key(body: KeyBody) -> Json:
        """Create an API key; its secret is in this response only. Admin keys only."""
        require_admin("create API keys")
        key_id, secret = store.create_api_key(body.name, role=body.role)
        return {"id": key_id, "secret": secret}

    @ops.add("POST", "/keys/lookup", "find_api_key", response_model=FoundKey)
    def find_api_key(body: SecretBody) -> Json:
        """The key a secret belongs to (revoked or not), or null."""
        found = store.find_api_key(body.secret)
        return {"key": None if found is None else found.to_dict()}

    @ops.add("DELETE", "/keys/{key_id}", "revoke_api_key", status_code=204)
    def revoke_api_key(key_id: str) -> None:
        """Revoke a key (idempotent); requests with it get 403 from now on. 404 if unknown.
        Admin keys only."""
        require_admin("revoke API keys")
        store.revoke_api_key(key_id)

    # -- event feed position ----------------------------------------------------------------

    @ops.add("GET", "/events/last", "last_event_id", response_model=LastEvent)
    def last_event_id() -> Json:
        """The newest event id (0 when there is none): where a new reader starts."""
        return {"id": store.last_event_id()}
