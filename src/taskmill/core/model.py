"""Records of the task store: tasks, parameters, configuration, artifacts, scalars, logs, queues.

These are plain frozen dataclasses. They describe what is stored; they do not store themselves
(persistence goes through :class:`taskmill.store.base.TaskStore`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

from taskmill.core.states import TaskStatus, TaskTypes
from taskmill.types import JSONValue

#: Section used for a parameter key given without one (ClearML's behaviour for dicts).
DEFAULT_SECTION = "General"

_TASK_ID_RE = re.compile(r"^[0-9a-f]{32}$")


def new_id() -> str:
    """A new random task/queue id (32 hex characters, like ClearML's).

    Sixteen random bytes from the OS, as ``uuid.uuid4()`` takes them, without importing ``uuid``
    (which loads ``platform``: milliseconds on every ``Task.init``)."""
    return os.urandom(16).hex()


def looks_like_id(value: str) -> bool:
    """True if ``value`` has the shape of a task id."""
    return bool(_TASK_ID_RE.match(value))


@dataclass(frozen=True, slots=True)
class ScriptInfo:
    """How to re-run a task: where its code lives and what it needs."""

    entry_point: str = ""
    working_dir: str = ""
    repository: str = ""
    branch: str = ""
    commit: str = ""
    diff: str = ""
    requirements: str = ""  #: installed packages, one ``name==version`` per line
    binary: str = "python"

    def to_dict(self) -> dict[str, str]:
        """JSON-able form."""
        return {
            "entry_point": self.entry_point,
            "working_dir": self.working_dir,
            "repository": self.repository,
            "branch": self.branch,
            "commit": self.commit,
            "diff": self.diff,
            "requirements": self.requirements,
            "binary": self.binary,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> ScriptInfo:
        """Inverse of :meth:`to_dict`; unknown keys are ignored."""
        if not data:
            return cls()
        return cls(**{k: str(v) for k, v in data.items() if k in cls.__dataclass_fields__})


@dataclass(frozen=True, slots=True)
class TaskRecord:
    """One task: the unit everything is tracked in (a script, a step, a pipeline controller)."""

    id: str
    name: str
    project: str
    task_type: TaskTypes = TaskTypes.training
    status: TaskStatus = TaskStatus.created
    status_message: str = ""
    status_reason: str = ""
    parent: str | None = None
    tags: tuple[str, ...] = ()
    system_tags: tuple[str, ...] = ()
    comment: str = ""
    user: str = ""
    script: ScriptInfo = field(default_factory=ScriptInfo)
    runtime: dict[str, JSONValue] = field(default_factory=dict)
    output_uri: str = ""
    progress: int = 0
    queue: str = ""  #: queue name while queued (or last queue it was claimed from)
    worker: str = ""  #: who runs it (agent id, ``local``)
    cache_key: str = ""  #: pipeline step cache key (ClearML's ``pipeline_job_hash``), "" if none
    created: float = 0.0
    started: float | None = None
    completed: float | None = None
    last_update: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (used by ``--json`` output and the HTTP API)."""
        return {
            "id": self.id,
            "name": self.name,
            "project": self.project,
            "type": self.task_type.value,
            "status": self.status.value,
            "status_message": self.status_message,
            "status_reason": self.status_reason,
            "parent": self.parent,
            "tags": list(self.tags),
            "system_tags": list(self.system_tags),
            "comment": self.comment,
            "user": self.user,
            "script": self.script.to_dict(),
            "runtime": dict(self.runtime),
            "output_uri": self.output_uri,
            "progress": self.progress,
            "queue": self.queue,
            "worker": self.worker,
            "cache_key": self.cache_key,
            "created": self.created,
            "started": self.started,
            "completed": self.completed,
            "last_update": self.last_update,
        }


@dataclass(frozen=True, slots=True)
class Param:
    """One hyperparameter ``section/name``; ``value`` keeps its JSON type (int stays int)."""

    section: str
    name: str
    value: JSONValue
    type: str = ""
    description: str = ""

    @property
    def key(self) -> str:
        """The flat ``Section/name`` form."""
        return f"{self.section}/{self.name}"


def split_key(key: str, default_section: str = DEFAULT_SECTION) -> tuple[str, str]:
    """Split ``Section/name`` into its parts; a key without a section goes to ``default_section``.

    Only the first ``/`` separates: ``Args/a/b`` is section ``Args``, name ``a/b``.
    """
    if "/" in key:
        section, name = key.split("/", 1)
        if section and name:
            return section, name
        raise ValueError(f"parameter key '{key}' has an empty section or name; use 'Section/name'")
    if not key:
        raise ValueError("parameter key is empty; use 'Section/name'")
    return default_section, key


@dataclass(frozen=True, slots=True)
class ConfigObject:
    """A named configuration object (dict as JSON text, or a file's text)."""

    name: str
    value: str
    type: str = "dictionary"
    description: str = ""


@dataclass(frozen=True, slots=True)
class ArtifactRecord:
    """What the store knows about an artifact; its bytes live at ``uri``."""

    task_id: str
    name: str
    uri: str
    type: str = ""  #: kind of object: numpy, pandas, json, file, folder, pickle, custom, str
    format: str = ""  #: on-disk format: npy, parquet, arrow, json, zip, pickle, raw, custom
    size: int = 0
    hash: str = ""  #: ``sha256:<hex>`` of the stored bytes
    mode: str = "output"
    metadata: dict[str, JSONValue] = field(default_factory=dict)
    preview: str = ""
    timestamp: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "task_id": self.task_id,
            "name": self.name,
            "uri": self.uri,
            "type": self.type,
            "format": self.format,
            "size": self.size,
            "hash": self.hash,
            "mode": self.mode,
            "metadata": dict(self.metadata),
            "preview": self.preview,
            "timestamp": self.timestamp,
        }


@dataclass(frozen=True, slots=True)
class ModelRecord:
    """An input or output model of a task (a file or folder at ``uri``)."""

    task_id: str
    id: str
    name: str
    uri: str
    mode: str = "output"  #: ``input`` or ``output``
    framework: str = ""
    timestamp: float = 0.0


@dataclass(frozen=True, slots=True)
class ScalarPoint:
    """One reported scalar value."""

    title: str
    series: str
    iteration: int
    value: float
    timestamp: float = 0.0


@dataclass(frozen=True, slots=True)
class PlotRecord:
    """A reported table or chart; ``data`` is JSON-able (a table: ``{"columns": [...], "rows": [...]}``)."""

    title: str
    series: str
    iteration: int
    kind: str  #: ``table``, ``plotly``, ``text``
    data: JSONValue
    timestamp: float = 0.0


@dataclass(frozen=True, slots=True)
class LogLine:
    """One console line; ``seq`` orders the lines of a task (assigned by the store)."""

    text: str
    level: str = "info"
    timestamp: float = 0.0
    seq: int = 0
    stream: str = "stdout"


@dataclass(frozen=True, slots=True)
class QueueRecord:
    """A named queue of tasks; entries are served by priority, then arrival order."""

    id: str
    name: str
    created: float = 0.0
    depth: int = 0


@dataclass(frozen=True, slots=True)
class QueueEntry:
    """A task waiting in a queue."""

    queue: str
    task_id: str
    priority: int
    added: float


@dataclass(frozen=True, slots=True)
class WorkerRecord:
    """An agent serving queues; ``last_seen`` is its latest heartbeat."""

    id: str
    queues: tuple[str, ...] = ()
    info: dict[str, JSONValue] = field(default_factory=dict)
    task_id: str | None = None  #: what it runs now
    registered: float = 0.0
    last_seen: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "id": self.id,
            "queues": list(self.queues),
            "info": dict(self.info),
            "task_id": self.task_id,
            "registered": self.registered,
            "last_seen": self.last_seen,
        }


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One entry of the store's event feed (what changed, in order).

    Kinds: ``task.created``, ``task.status``, ``task.log``, ``pipeline.nodes``, ``queue.changed``,
    ``worker.changed``. ``data`` carries the details (e.g. the new status, the node names).
    """

    id: int
    time: float
    kind: str
    task_id: str | None = None
    data: dict[str, JSONValue] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "id": self.id,
            "time": self.time,
            "kind": self.kind,
            "task_id": self.task_id,
            "data": self.data,
        }


@dataclass(frozen=True, slots=True)
class ProjectRecord:
    """A project; names are paths (``a/b/c``). Names with a ``.`` segment are hidden."""

    name: str
    created: float = 0.0
    system_tags: tuple[str, ...] = ()
    task_count: int = 0

    @property
    def hidden(self) -> bool:
        """True for hidden projects such as ``x/.pipelines``."""
        return any(part.startswith(".") for part in self.name.split("/"))


def project_ancestors(name: str) -> list[str]:
    """``a/b/c`` -> ``["a", "a/b", "a/b/c"]``; rejects empty segments."""
    parts = name.split("/")
    if not name or any(not p.strip() for p in parts):
        raise ValueError(f"project name '{name}' has an empty part; use names like 'team/project'")
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def pipelines_project(project: str, pipeline_name: str) -> str:
    """Hidden project that holds a pipeline's controller tasks: ``<project>/.pipelines/<name>``."""
    return f"{project}/.pipelines/{pipeline_name}"
