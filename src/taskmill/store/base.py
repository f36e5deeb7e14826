"""The task store contract: every backend (SQLite, PostgreSQL, and later HTTP) implements it.

Semantics that hold for every implementation:

* Every method is **atomic**: it either applies fully or not at all.
* Methods **do not block** waiting for work; :meth:`TaskStore.claim` returns ``None`` when the
  queues are empty. (Waiting for events is a separate, later interface.)
* Writes made inside :meth:`TaskStore.batch` commit together at the end of the block (faster, and
  all-or-nothing); outside it each call commits on its own.
* A store may be shared by many threads of one process and by many processes: status changes and
  queue claims are checked and applied in one transaction, so two writers never both win.
* Missing things raise :class:`~taskmill.errors.NotFoundError` subclasses that name them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from contextvars import ContextVar
from dataclasses import dataclass

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
    TaskRecord,
    WorkerRecord,
)
from taskmill.core.states import TaskStatus, TaskTypes
from taskmill.errors import InvalidValueError
from taskmill.store.api_keys import ADMIN_ROLE, USER_ROLE
from taskmill.types import JSONValue

#: The HTTP header carrying ``<task id>:<attempt>`` of a fenced client (see :meth:`TaskStore.fence`).
ATTEMPT_HEADER = "X-Taskmill-Attempt"


def check_log_window(limit: int | None, tail: int | None) -> None:
    """Refuse ``get_log(limit=..., tail=...)`` together (a window is one or the other)."""
    if limit is not None and tail is not None:
        raise InvalidValueError("get_log takes limit (first lines) or tail (last lines), not both")


@dataclass(frozen=True, slots=True)
class TaskFilter:
    """Which tasks :meth:`TaskStore.find_tasks` returns. Empty fields do not filter.

    ``project`` matches the project exactly, or with ``include_subprojects`` also ``project/...``.
    ``tags``/``system_tags`` require all listed tags; ``name`` matches exactly, ``name_contains``
    as a case-insensitive substring. ``limit`` keeps the first matches in ``order`` and is
    applied by the store's query itself, so the newest few cost the same at any history size.
    """

    project: str | None = None
    include_subprojects: bool = False
    name: str | None = None
    name_contains: str | None = None
    status: tuple[TaskStatus, ...] = ()
    task_type: tuple[TaskTypes, ...] = ()
    tags: tuple[str, ...] = ()
    system_tags: tuple[str, ...] = ()
    parent: str | None = None
    ids: tuple[str, ...] = ()
    limit: int | None = None
    order: str = "-last_update"  #: a field name, ``-`` for descending (created, last_update, name)


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    """An API key of a ``taskmill server``, as listed. The secret itself is never stored or listed.

    ``revoked`` is when it was revoked (None while it is valid). ``role`` is ``admin`` (may
    also create, list and revoke keys) or ``user`` (everything else: SDK clients, agents).
    """

    id: str
    name: str = ""
    created: float = 0.0
    revoked: float | None = None
    role: str = USER_ROLE

    @property
    def is_admin(self) -> bool:
        """True for an admin key: it may manage API keys."""
        return self.role == ADMIN_ROLE

    @property
    def is_revoked(self) -> bool:
        """True once the key has been revoked: it no longer opens the server (HTTP 403)."""
        return self.revoked is not None

    def to_dict(self) -> dict[str, object]:
        """JSON-able form."""
        return {
            "id": self.id,
            "name": self.name,
            "created": self.created,
            "revoked": self.revoked,
            "role": self.role,
        }


class TaskStore(ABC):
    """Persistent home of tasks, their parameters, outputs, logs, projects and queues."""

    url: str

    # -- lifecycle --------------------------------------------------------------------------

    @abstractmethod
    def close(self) -> None:
        """Release connections. Idempotent."""

    @abstractmethod
    def batch(self) -> AbstractContextManager[None]:
        """Group the writes of the ``with`` block into one transaction (all-or-nothing).

        Re-entrant: nested blocks join the outer one. Other writers wait until it commits.
        """

    # -- tasks ------------------------------------------------------------------------------

    @abstractmethod
    def create_task(self, task: TaskRecord) -> TaskRecord:
        """Insert a new task (and its project and parent projects); returns it with times set.

        Raises ConflictError if the id exists.
        """

    @abstractmethod
    def get_task(self, task_id: str) -> TaskRecord:
        """Return the task. Raises TaskNotFoundError naming the id."""

    @abstractmethod
    def find_tasks(self, flt: TaskFilter | None = None) -> list[TaskRecord]:
        """Tasks matching ``flt``, ordered by ``flt.order``."""

    @abstractmethod
    def update_task(self, task_id: str, **fields: object) -> TaskRecord:
        """Set plain fields (name, project, comment, tags, system_tags, parent, script, runtime,
        output_uri, progress, task_type, user, cache_key). Status changes go through :meth:`set_status`.
        ``runtime`` is merged key by key. Returns the updated task.
        """

    @abstractmethod
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
        """Atomically move a task to ``status``, checking the transition table.

        ``expected``: apply only if the current status is one of these (compare-and-set), else
        raise ConflictError. ``force`` skips the table check (administrative fixes). Entering
        ``in_progress`` sets ``started``; a final status sets ``completed``; entering ``created``
        clears both. Leaving ``queued`` removes the task from its queue.
        """

    @abstractmethod
    def delete_task(self, task_id: str) -> None:
        """Delete the task and everything recorded on it (not its artifact bytes)."""

    # -- parameters and configuration ---------------------------------------------------------

    @abstractmethod
    def set_params(self, task_id: str, params: Iterable[Param], *, replace: bool = False) -> None:
        """Upsert parameters by (section, name). ``replace`` first drops all existing ones."""

    @abstractmethod
    def get_params(self, task_id: str) -> list[Param]:
        """All parameters of the task, ordered by section then insertion."""

    @abstractmethod
    def delete_params(self, task_id: str, keys: Iterable[tuple[str, str]]) -> None:
        """Delete the given (section, name) parameters; missing ones are ignored."""

    @abstractmethod
    def set_config(self, task_id: str, config: ConfigObject) -> None:
        """Upsert a configuration object by name."""

    @abstractmethod
    def get_configs(self, task_id: str) -> list[ConfigObject]:
        """All configuration objects of the task."""

    # -- outputs ------------------------------------------------------------------------------

    @abstractmethod
    def put_artifact(self, artifact: ArtifactRecord) -> None:
        """Upsert an artifact record by (task, name)."""

    @abstractmethod
    def get_artifacts(self, task_id: str) -> list[ArtifactRecord]:
        """Artifact records of the task, in upload order."""

    @abstractmethod
    def delete_artifact(self, task_id: str, name: str) -> None:
        """Remove an artifact record (its bytes are not touched)."""

    @abstractmethod
    def add_model(self, model: ModelRecord) -> None:
        """Record an input or output model of a task."""

    @abstractmethod
    def get_models(self, task_id: str) -> list[ModelRecord]:
        """Models of the task in the order they were added."""

    def move_model(self, model_id: str, task_id: str, *, name: str | None = None) -> ModelRecord:
        """Re-attach model record ``model_id`` to task ``task_id`` (ClearML's reuse of a model by
        another task): same id, URL, mode and framework; ``name`` replaces its name when given.
        Moved to another task it becomes that task's newest model; on its own task only the name
        changes. Atomic; idempotent. Returns the moved record. Raises NotFoundError for an
        unknown model, TaskNotFoundError for an unknown task."""
        raise NotImplementedError(f"{type(self).__name__} cannot move model records")

    @abstractmethod
    def add_scalars(self, task_id: str, points: Sequence[ScalarPoint]) -> None:
        """Append reported scalars."""

    @abstractmethod
    def get_scalars(self, task_id: str) -> list[ScalarPoint]:
        """All scalars of the task, ordered by title, series, iteration."""

    @abstractmethod
    def add_plot(self, task_id: str, plot: PlotRecord) -> None:
        """Append a reported table or chart."""

    @abstractmethod
    def get_plots(self, task_id: str) -> list[PlotRecord]:
        """Reported tables and charts of the task, in report order."""

    @abstractmethod
    def append_log(self, task_id: str, lines: Sequence[LogLine]) -> int:
        """Append console lines after the existing ones; returns the last ``seq`` assigned.

        Safe while the task runs and from several writers: sequence numbers never repeat.
        """

    @abstractmethod
    def get_log(
        self, task_id: str, *, after: int = 0, limit: int | None = None, tail: int | None = None
    ) -> list[LogLine]:
        """Console lines with ``seq > after`` in order (``after`` lets readers follow a log).

        ``limit``: the first ``limit`` of them; ``tail``: the last ``tail`` of them (a long log
        is not read whole to show its end). Lines are numbered from 1, so the ``seq`` of the last
        line is the log's length. Giving both is a ValueError.
        """

    # -- pipelines --------------------------------------------------------------------------

    @abstractmethod
    def put_nodes(self, run_id: str, nodes: Sequence[tuple[str, dict[str, JSONValue]]]) -> None:
        """Upsert the live state of pipeline nodes of run ``run_id`` (one transaction).

        A node keeps the position it was first written at, so readers get a stable order.
        """

    @abstractmethod
    def get_nodes(self, run_id: str) -> list[tuple[str, dict[str, JSONValue]]]:
        """Live node states of a run, in first-written order (empty for a non-pipeline task)."""

    @abstractmethod
    def find_by_cache_key(self, key: str) -> list[TaskRecord]:
        """Completed or published tasks whose ``cache_key`` is ``key``, newest first."""

    # -- projects ---------------------------------------------------------------------------

    @abstractmethod
    def ensure_project(self, name: str, system_tags: Sequence[str] = ()) -> ProjectRecord:
        """Create the project and its parents if missing (idempotent); adds ``system_tags``."""

    @abstractmethod
    def list_projects(self, *, include_hidden: bool = False) -> list[ProjectRecord]:
        """Projects by name, with their task counts."""

    # -- queues -----------------------------------------------------------------------------

    @abstractmethod
    def create_queue(self, name: str) -> QueueRecord:
        """Create a queue; idempotent (returns the existing one)."""

    @abstractmethod
    def get_queue(self, name: str) -> QueueRecord:
        """Return the queue or raise QueueNotFoundError naming it."""

    @abstractmethod
    def list_queues(self) -> list[QueueRecord]:
        """All queues with their depth."""

    @abstractmethod
    def delete_queue(self, name: str, *, force: bool = False) -> None:
        """Delete a queue; refuses (ConflictError) while tasks wait in it unless ``force``
        (then its tasks go back to draft)."""

    @abstractmethod
    def enqueue(self, task_id: str, queue: str, *, priority: int = 0) -> TaskRecord:
        """Atomically put the task in the queue and set it ``queued``.

        Raises QueueNotFoundError for an unknown queue, InvalidTransitionError when the task's
        status cannot become queued.
        """

    @abstractmethod
    def dequeue(self, task_id: str) -> TaskRecord:
        """Take a queued task out of its queue and back to ``created``."""

    @abstractmethod
    def queue_entries(self, queue: str) -> list[QueueEntry]:
        """The tasks waiting in a queue, in the order they will be served."""

    @abstractmethod
    def claim(
        self, queues: Sequence[str], worker: str, *, request_id: str | None = None
    ) -> TaskRecord | None:
        """Atomically take the next task from the first non-empty queue of ``queues``.

        The task leaves the queue and becomes ``in_progress`` with ``worker`` set. Never hands the
        same task to two callers, across threads, processes and machines. Non-blocking: returns
        None when every queue is empty.

        Idempotent per ``request_id`` (a caller-made unique id, e.g. a fresh
        :func:`~taskmill.core.model.new_id` per claim): when a task was already claimed with
        it, that task is returned (as it is now) and nothing else is claimed, so a claim
        repeated after its answer was lost never takes a second task nor strands the first.
        """

    # -- agents -------------------------------------------------------------------------------

    @abstractmethod
    def register_worker(
        self, worker_id: str, queues: Sequence[str], info: dict[str, JSONValue]
    ) -> WorkerRecord:
        """Create or refresh an agent's record (idempotent); counts as a heartbeat."""

    @abstractmethod
    def heartbeat(self, worker_id: str, task_id: str | None = None) -> None:
        """Record that the agent is alive and what it runs now. Raises NotFoundError if unknown."""

    @abstractmethod
    def list_workers(self) -> list[WorkerRecord]:
        """All registered agents, by id."""

    @abstractmethod
    def unregister_worker(self, worker_id: str) -> None:
        """Forget an agent (idempotent)."""

    # -- events -------------------------------------------------------------------------------

    @abstractmethod
    def events_since(
        self, after: int = 0, *, limit: int = 1000, task_id: str | None = None
    ) -> list[EventRecord]:
        """Events with ``id > after`` in order (only those of ``task_id`` when given).

        Every status change, task creation, log append, pipeline node update, queue change and
        agent change appends one event in the same transaction as the change itself.
        """

    @abstractmethod
    def last_event_id(self) -> int:
        """The id of the newest event (0 when there is none): where a new reader starts."""

    def wait_events(
        self, after: int, timeout: float, *, task_id: str | None = None, limit: int = 1000
    ) -> list[EventRecord]:
        """Block up to ``timeout`` seconds until events newer than ``after`` exist; returns them.

        The default checks every few milliseconds (cheap indexed reads); backends with a push
        channel (PostgreSQL LISTEN/NOTIFY, the HTTP store's stream) wake at once instead.
        """
        import time

        deadline = time.monotonic() + timeout
        delay = 0.002
        while True:
            found = self.events_since(after, limit=limit, task_id=task_id)
            if found or time.monotonic() >= deadline:
                return found
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 2, 0.01)  # a cheap indexed read: keep wake-ups within ~10 ms

    # -- API keys -----------------------------------------------------------------------------

    @abstractmethod
    def create_api_key(self, name: str = "", *, role: str | None = None) -> tuple[str, str]:
        """Create an API key; returns ``(key_id, secret)``.

        The secret (``tm_<key_id>_<random>``) is returned only here: the store keeps a salted hash
        of it, so it cannot be shown again. ``name`` is a free label (who or what uses the key).
        ``role``: ``admin`` or ``user``; None makes the store's first key an admin and any later
        one a user. Another role is a ValueError naming the valid ones.
        """

    @abstractmethod
    def list_api_keys(self) -> list[ApiKeyRecord]:
        """All API keys, revoked ones included, oldest first (never their secrets)."""

    @abstractmethod
    def revoke_api_key(self, key_id: str) -> None:
        """Revoke a key: from now on its secret is refused. Idempotent for a revoked key.

        Raises NotFoundError naming ``key_id`` when no key has that id.
        """

    @abstractmethod
    def find_api_key(self, secret: str) -> ApiKeyRecord | None:
        """The key whose secret is ``secret``, revoked or not; None when no key matches.

        Malformed secrets simply match nothing. Comparison is constant-time.
        """

    def set_caller(self, key: ApiKeyRecord | None) -> None:
        """Say who makes this context's calls from now on (None: nobody known).

        Per context (thread or asyncio task), never shared: a server sets the key of each
        request. Status changes made in the context record the key's name (``by`` in their
        ``task.status`` event) where the backend keeps events.
        """
        self._callers().set(key)

    def current_caller(self) -> ApiKeyRecord | None:
        """The key set by :meth:`set_caller` in this context, or None."""
        return self._callers().get()

    def _callers(self) -> ContextVar[ApiKeyRecord | None]:
        callers: ContextVar[ApiKeyRecord | None] | None = self.__dict__.get("_caller_var")
        if callers is None:
            # dict.setdefault is atomic: threads racing here agree on one variable
            callers = self.__dict__.setdefault(
                "_caller_var", ContextVar(f"taskmill-caller-{id(self)}", default=None)
            )
        return callers

    # -- fencing: writes from a superseded attempt are refused -----------------------------------

    @abstractmethod
    def attempt_of(self, task_id: str) -> int:
        """The task's current attempt number: 1 after its first claim, +1 per claim (0: never claimed).

        Raises TaskNotFoundError for an unknown task.
        """

    def fence(self, task_id: str | None, attempt: int | None = None) -> None:
        """Make this store object's writes to ``task_id`` those of attempt ``attempt``.

        Process-wide (every thread), for the process that runs one attempt of a task: from now on
        its status, artifact and log writes to ``task_id`` raise ConflictError (409 over HTTP)
        once another attempt has started, so a zombie never completes a task or overwrites a
        retry's outputs. Writes to other tasks are not affected. ``fence(None)`` lifts it.
        """
        self.__dict__["_fence"] = (task_id, int(attempt)) if task_id and attempt else None

    def set_request_fence(self, task_id: str | None, attempt: int | None = None) -> None:
        """Like :meth:`fence` for this context only (thread or asyncio task): what a server sets
        from each request's ``X-Taskmill-Attempt`` header. Overrides :meth:`fence` while set."""
        self._fences().set((task_id, int(attempt)) if task_id and attempt else None)

    def current_fence(self) -> tuple[str, int] | None:
        """``(task id, attempt)`` this context writes as, or None (unfenced)."""
        fence: tuple[str, int] | None = self._fences().get() or self.__dict__.get("_fence")
        return fence

    def _fences(self) -> ContextVar[tuple[str, int] | None]:
        fences: ContextVar[tuple[str, int] | None] | None = self.__dict__.get("_fence_var")
        if fences is None:
            fences = self.__dict__.setdefault(
                "_fence_var", ContextVar(f"taskmill-fence-{id(self)}", default=None)
            )
        return fences

    def check_api_key(self, secret: str) -> bool:
        """True if ``secret`` belongs to a key that is not revoked."""
        found = self.find_api_key(secret)
        return found is not None and not found.is_revoked

    # -- convenience shared by all backends ---------------------------------------------------

    def get_param_dict(self, task_id: str) -> dict[str, JSONValue]:
        """Parameters as a flat ``{"Section/name": value}`` dict."""
        return {p.key: p.value for p in self.get_params(task_id)}

    def iter_tasks(self, flt: TaskFilter | None = None) -> Iterator[TaskRecord]:
        """Iterate :meth:`find_tasks`."""
        yield from self.find_tasks(flt)
