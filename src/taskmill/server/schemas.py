"""Pydantic models of the HTTP API: what each endpoint accepts and returns (they make /openapi.json).

The shapes are those of :mod:`taskmill.store.wire` (the HTTP store decodes them with it); the
models add validation at the boundary (see :mod:`taskmill.server.model_base`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, JsonValue

from taskmill.core.model import new_id
from taskmill.core.states import TaskStatus, TaskTypes
from taskmill.server.model_base import Count, Int32, Int64, JsonDict, Model

# -- records ------------------------------------------------------------------------------------


class ScriptModel(Model):
    """How to re-run a task (see :class:`~taskmill.core.model.ScriptInfo`)."""

    entry_point: str = ""
    working_dir: str = ""
    repository: str = ""
    branch: str = ""
    commit: str = ""
    diff: str = ""
    requirements: str = ""
    binary: str = "python"


class TaskModel(Model):
    """A task. On creation only ``name`` and ``project`` are required (the id defaults to a new one)."""

    id: str = Field(default_factory=new_id)
    name: str
    project: str
    type: TaskTypes = TaskTypes.training
    status: TaskStatus = TaskStatus.created
    status_message: str = ""
    status_reason: str = ""
    parent: str | None = None
    tags: list[str] = []
    system_tags: list[str] = []
    comment: str = ""
    user: str = ""
    script: ScriptModel = ScriptModel()
    runtime: JsonDict = {}
    output_uri: str = ""
    progress: Int32 = 0
    queue: str = ""
    worker: str = ""
    cache_key: str = ""
    created: float = 0.0
    started: float | None = None
    completed: float | None = None
    last_update: float = 0.0


class ParamModel(Model):
    """A hyperparameter ``section/name``; ``value`` keeps its JSON type (NaN and ±Infinity too)."""

    model_config = ConfigDict(allow_inf_nan=True)

    section: str
    name: str
    value: JsonValue = None
    type: str = ""
    description: str = ""


class ConfigModel(Model):
    """A named configuration object."""

    name: str
    value: str
    type: str = "dictionary"
    description: str = ""


class ArtifactModel(Model):
    """An artifact record; its bytes live at ``uri``."""

    task_id: str
    name: str
    uri: str
    type: str = ""
    format: str = ""
    size: Count = 0
    hash: str = ""
    mode: str = "output"
    metadata: JsonDict = {}
    preview: str = ""
    timestamp: float = 0.0


class ModelRecordModel(Model):
    """An input or output model of a task."""

    task_id: str
    id: str = ""
    name: str
    uri: str
    mode: str = "output"
    framework: str = ""
    timestamp: float = 0.0


class ScalarModel(Model):
    """One reported scalar value (NaN and ±Infinity allowed: training reports them)."""

    model_config = ConfigDict(allow_inf_nan=True)

    title: str
    series: str
    iteration: Int64
    value: float
    timestamp: float = 0.0


class PlotModel(Model):
    """A reported table or chart (NaN and ±Infinity allowed: tables have missing values)."""

    model_config = ConfigDict(allow_inf_nan=True)

    title: str
    series: str
    iteration: Int64
    kind: str
    data: JsonValue = None
    timestamp: float = 0.0


class LogLineModel(Model):
    """One console line (``seq`` is assigned by the store on append)."""

    text: str
    level: str = "info"
    timestamp: float = 0.0
    seq: Int64 = 0
    stream: str = "stdout"


class QueueModel(Model):
    """A queue and how many tasks wait in it."""

    id: str
    name: str
    created: float = 0.0
    depth: Count = 0


class QueueEntryModel(Model):
    """A task waiting in a queue."""

    queue: str
    task_id: str
    priority: Int32
    added: float


class ProjectModel(Model):
    """A project with its task count."""

    name: str
    created: float = 0.0
    system_tags: list[str] = []
    task_count: Count = 0
    hidden: bool = False


class WorkerModel(Model):
    """An agent and its latest heartbeat."""

    id: str
    queues: list[str] = []
    info: JsonDict = {}
    task_id: str | None = None
    registered: float = 0.0
    last_seen: float = 0.0


class EventModel(Model):
    """One entry of the event feed."""

    id: Int64
    time: float
    kind: str
    task_id: str | None = None
    data: JsonDict = {}


class ApiKeyModel(Model):
    """An API key as listed (never its secret)."""

    id: str
    name: str = ""
    created: float = 0.0
    revoked: float | None = None
    role: Literal["admin", "user"] = "user"


class NodeModel(Model):
    """The live state of one pipeline node."""

    name: str
    data: JsonDict = {}


# -- request bodies and query models ------------------------------------------------------------


class TaskFilterModel(Model):
    """Which tasks to find (see :class:`~taskmill.store.base.TaskFilter`); empty fields do not filter."""

    project: str | None = None
    include_subprojects: bool = False
    name: str | None = None
    name_contains: str | None = None
    status: list[TaskStatus] = []
    task_type: list[TaskTypes] = []
    tags: list[str] = []
    system_tags: list[str] = []
    parent: str | None = None
    ids: list[str] = []
    limit: Count | None = None
    order: str = "-last_update"


def _no_defaults(schema: dict[str, Any]) -> None:
    # An omitted field keeps its stored value: the placeholders below are not defaults to show.
    for prop in schema.get("properties", {}).values():
        prop.pop("default", None)


class TaskUpdate(Model):
    """Plain task fields to set; omitted fields keep their value. ``runtime`` is merged key by key.

    Only ``parent`` may be ``null`` (no parent); ``null`` for any other field is refused (422
    naming it) rather than stored as the text "None" or failing in the store: omit the field to
    keep its value. Other keys are passed on to the store, which refuses them (422) naming the
    settable fields.
    """

    model_config = ConfigDict(extra="allow", allow_inf_nan=False, json_schema_extra=_no_defaults)

    # The values after "=" only stand for "omitted" (routes dump with exclude_unset=True).
    name: str = ""
    project: str = ""
    comment: str = ""
    tags: list[str] = []
    system_tags: list[str] = []
    parent: str | None = None
    script: ScriptModel = ScriptModel()
    runtime: JsonDict = {}
    output_uri: str = ""
    progress: Int32 = 0
    task_type: TaskTypes = TaskTypes.training
    user: str = ""
    cache_key: str = ""


class StatusChange(Model):
    """A status change, checked against the transition table unless ``force``.

    ``expected``: apply only if the current status is one of these (else 409).
    """

    status: TaskStatus
    message: str | None = None
    reason: str | None = None
    force: bool = False
    expected: list[TaskStatus] = []
    worker: str | None = None


class ParamsBody(Model):
    """Parameters to upsert; ``replace`` drops all existing ones first."""

    params: list[ParamModel]
    replace: bool = False


class ParamKeysBody(Model):
    """``[section, name]`` pairs of parameters to delete (missing ones are ignored)."""

    keys: list[tuple[str, str]]


class ScalarsBody(Model):
    """Scalars to append."""

    points: list[ScalarModel]


class LogBody(Model):
    """Console lines to append."""

    lines: list[LogLineModel]


class LogAppended(Model):
    """The last sequence number assigned by an append."""

    last_seq: Int64


class LogQuery(Model):
    """Lines with ``seq > after``: the first ``limit`` or the last ``tail`` of them (not both)."""

    after: Int64 = 0
    limit: Count | None = None
    tail: Count | None = None


class NodesBody(Model):
    """Node states to upsert (one transaction)."""

    nodes: list[NodeModel]


class CacheQuery(Model):
    """A step cache key."""

    key: str


class ProjectsQuery(Model):
    """Whether to list hidden projects (``.pipelines`` and the like) too."""

    include_hidden: bool = False


class ProjectBody(Model):
    """A project to create if missing, with system tags to add."""

    name: str
    system_tags: list[str] = []


class QueueBody(Model):
    """A queue to create (idempotent)."""

    name: str


class DeleteQueueQuery(Model):
    """``force``: delete even while tasks wait (they go back to draft)."""

    force: bool = False


class EnqueueBody(Model):
    """A task to put in a queue; higher priorities are served first."""

    task_id: str
    priority: Int32 = 0


class ClaimBody(Model):
    """Take the next task from the first non-empty queue of ``queues`` for ``worker``.

    ``request_id`` (unique per claim, made by the client) makes the claim idempotent: repeated
    with the same id, it returns the task that id already claimed instead of another one.
    """

    queues: list[str]
    worker: str
    request_id: str | None = Field(default=None, max_length=128)


class ClaimResult(Model):
    """The claimed task, or null when every queue was empty."""

    task: TaskModel | None = None


class WorkerBody(Model):
    """An agent registering (idempotent; counts as a heartbeat)."""

    id: str
    queues: list[str] = []
    info: JsonDict = {}


class HeartbeatBody(Model):
    """What the agent runs now (null: nothing)."""

    task_id: str | None = None


class EventsQuery(Model):
    """Events with ``id > after`` (of ``task_id`` only, when given); long-poll up to ``wait`` s."""

    after: Int64 = 0
    limit: Annotated[int, Field(ge=1, le=10_000)] = 1000
    task_id: str | None = None
    wait: Annotated[float, Field(ge=0, le=60)] = 0.0


class StreamQuery(Model):
    """Stream events with ``id > after`` (default: only new ones), of ``task_id`` when given."""

    after: Int64 | None = None
    task_id: str | None = None


class LastEvent(Model):
    """The newest event id (0 when there is none)."""

    id: Int64


class KeyBody(Model):
    """A label for a new API key, and its role (omitted: admin for a store's first key, else user)."""

    name: str = ""
    role: Literal["admin", "user"] | None = None


class NewKey(Model):
    """A new API key. The secret is shown only this once."""

    id: str
    secret: str


class SecretBody(Model):
    """A secret to look up."""

    secret: str


class FoundKey(Model):
    """The key a secret belongs to, or null."""

    key: ApiKeyModel | None = None


class BatchOp(Model):
    """One operation of a batch: an operation id of this API (as in /openapi.json) and its
    arguments (path parameters plus the body or query fields of that operation)."""

    op: str
    args: dict[str, Any] = {}


class BatchBody(Model):
    """Operations run in order in one transaction: all of them apply, or none."""

    ops: Annotated[list[BatchOp], Field(max_length=10_000)]


class BatchResult(Model):
    """The result of each operation, in order (null for those without one)."""

    results: list[JsonValue]


class StoredContent(Model):
    """Where uploaded artifact bytes now live, their size and ``sha256:<hex>`` hash."""

    uri: str
    size: Count
    hash: str


class Health(Model):
    """Liveness: the server answers and its store can be read."""

    status: str
    version: str


class ServerInfo(Model):
    """What clients need to know about this server (for authenticated callers)."""

    version: str
    api: str
    artifacts_uri: str  #: clients that can reach this location write artifacts there directly
    auth: bool
