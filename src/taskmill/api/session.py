"""A session: the store and artifact storage that API objects talk to, opened on first use.

The process has one default session (built from :class:`~taskmill.config.Settings`) held by
:class:`ProcessContext`, together with the process's *main task*. That is the only
process-wide state in taskmill, and it exists because ClearML's API defines it: ``Task.init``
creates "the" task of the process and ``Task.current_task()`` returns it from anywhere.

The context holds tasks as :class:`TaskLike` / :class:`MainTask`: the parts of ``Task`` that the
logger, the models and the process hooks use. ``Task`` implements both; declaring them here lets
those modules work with tasks without importing ``Task`` (which imports them).
"""

from __future__ import annotations

import contextvars
import os
import threading
import weakref
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from taskmill.api.reporter import Reporter
from taskmill.config import Settings
from taskmill.store.base import TaskStore

if TYPE_CHECKING:
    from taskmill.artifacts.serializers import SerializerRegistry
    from taskmill.artifacts.storage import ArtifactStore

#: Environment variable choosing the format of DataFrame artifacts: ``parquet`` (default) or
#: ``csv.gz`` (ClearML's: index as first column, dtypes as CSV parsing infers them).
DATAFRAME_FORMAT_ENV = "TASKMILL_DATAFRAME_FORMAT"
DATAFRAME_FORMATS = ("parquet", "csv.gz")

T = TypeVar("T")


class TaskLike(Protocol):
    """What ``Logger`` and the model classes use of a task: identity, its session and reporter."""

    _session: Session

    @property
    def id(self) -> str:
        """Task id."""
        ...

    @property
    def name(self) -> str:
        """Task name (read from the store)."""
        ...

    @property
    def output_uri(self) -> str:
        """Where the task's artifacts go by default."""
        ...

    def _store(self) -> TaskStore: ...

    def _reporter(self) -> Reporter: ...

    def _console_captured(self) -> bool: ...


class MainTask(TaskLike, Protocol):
    """What the process's hooks use of its main task: connecting argparse results, and ending
    the task when the process ends (``_finish``) or is interrupted (``_interrupt``)."""

    def connect(self, mutable: T, name: str | None = None, ignore_remote_overrides: bool = False) -> T:
        """Record ``mutable``'s values as parameters (see ``Task.connect``)."""
        ...

    def _finish(self, exc: BaseException | None) -> None: ...

    def _interrupt(self) -> None: ...


class Session:
    """Store plus artifact storage for one set of settings. Thread-safe; opens lazily."""

    def __init__(self, settings: Settings, store: TaskStore | None = None) -> None:
        self.settings = settings
        self._store = store
        self._artifacts: ArtifactStore | None = None
        # One lock per lazily opened resource: opening the artifact storage of a server store
        # reads ``self.store``, so a shared non-reentrant lock would deadlock on first use.
        self._lock = threading.Lock()
        self._artifacts_lock = threading.Lock()

    @property
    def store(self) -> TaskStore:
        """The task store (opened, and migrated if needed, on first use)."""
        if self._store is None:
            with self._lock:
                if self._store is None:
                    from taskmill.store.factory import open_store

                    store = open_store(self.settings.store_url, self.settings.api_key or None)
                    # A task process an agent started writes as that claim's attempt (fencing).
                    attempt = os.environ.get("TASKMILL_ATTEMPT", "")
                    if attempt.isdigit() and os.environ.get("TASKMILL_TASK_ID"):
                        store.fence(os.environ["TASKMILL_TASK_ID"], int(attempt))
                    self._store = store
        return self._store

    @property
    def artifacts(self) -> ArtifactStore:
        """Artifact storage (imports fsspec on first use only: keeps ``import taskmill`` fast)."""
        if self._artifacts is None:
            with self._artifacts_lock:
                if self._artifacts is None:
                    self._artifacts = self._open_artifacts()
        return self._artifacts

    def _open_artifacts(self) -> ArtifactStore:
        """Where artifacts go: the configured location; with a server store and none configured,
        the server's location when this machine can reach it, else through the server."""
        from taskmill.artifacts.storage import ArtifactStore

        settings = self.settings
        cache = str(settings.cache_dir)
        registry = serializer_registry(dataframe_format(settings))
        if not settings.store_url.startswith(("http://", "https://")):
            return ArtifactStore(default_uri=settings.artifacts_uri, cache_dir=cache, serializers=registry)
        from taskmill.store.http import HttpTaskStore  # only for server stores: httpx is heavy

        store = self.store
        if isinstance(store, HttpTaskStore) and (
            settings.artifacts_uri == "server" or not settings.artifacts_explicit
        ):
            from taskmill.api.relay import RelayArtifactStore

            if settings.artifacts_uri == "server":
                return RelayArtifactStore(store, cache, registry)
            uri = str(store.server_info().get("artifacts_uri") or "")
            local = (bool(uri) and "://" not in uri) or uri.startswith("file://")
            folder = uri[len("file://") :] if uri.startswith("file://") else uri
            # a local folder of the server's that exists here (same machine or shared mount)
            reachable = not local or os.path.isdir(folder) or os.path.isdir(os.path.dirname(folder))
            return (
                ArtifactStore(default_uri=uri, cache_dir=cache, serializers=registry)
                if reachable
                else RelayArtifactStore(store, cache, registry)
            )
        return ArtifactStore(default_uri=settings.artifacts_uri, cache_dir=cache, serializers=registry)

    def close(self) -> None:
        """Close the store if it was opened."""
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None


def dataframe_format(settings: Settings) -> str:
    """The configured DataFrame artifact format: the ``dataframe_format`` setting when the
    settings have one, else :data:`DATAFRAME_FORMAT_ENV`, else ``parquet``.

    Raises:
        ValueError: For a value not in :data:`DATAFRAME_FORMATS`.
    """
    value = str(getattr(settings, "dataframe_format", "") or os.environ.get(DATAFRAME_FORMAT_ENV, ""))
    value = value.strip().lower().lstrip(".") or "parquet"
    if value not in DATAFRAME_FORMATS:
        raise ValueError(f"{DATAFRAME_FORMAT_ENV}={value!r}: use one of {', '.join(DATAFRAME_FORMATS)}")
    return value


def serializer_registry(frame_format: str) -> SerializerRegistry:
    """The default serializers plus ClearML's ``.csv.gz`` DataFrame format: tried first when
    ``frame_format`` is ``csv.gz`` (the default for frames then), else last (only an explicit
    ``extension_name=".csv.gz"`` picks it, and stored ``csv.gz`` artifacts stay readable)."""
    from taskmill.artifacts.data_serializers import CsvGzSerializer
    from taskmill.artifacts.serializers import SerializerRegistry, default_registry

    registry = default_registry()
    if frame_format == "csv.gz":
        return registry.with_serializers([CsvGzSerializer()])
    if any(s.format == CsvGzSerializer.format for s in registry.serializers):
        return registry
    return SerializerRegistry([*registry.serializers, CsvGzSerializer()])


class ProcessContext:
    """Holds the default session and the main task of this process (see module docstring)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._session: Session | None = None
        #: the Task created by Task.init
        self.main_task: MainTask | None = None
        #: argparse namespaces parsed before Task.init, connected (and, under an agent, overwritten
        #: with the stored values) by Task.init; ``connect_argparse`` is Task.init's switch for it
        self.parsed_args: list[Any] = []
        self.connect_argparse: bool = True
        #: reporters of Task objects of this process, flushed at exit so no report is lost
        self.reporters: weakref.WeakSet[Reporter] = weakref.WeakSet()
        #: the step task running in this thread/context (in-process pipeline steps)
        self.step_task: contextvars.ContextVar[TaskLike | None] = contextvars.ContextVar(
            "taskmill_step_task", default=None
        )
        #: where console lines of this thread/context go instead of the main task's log
        self.step_reporter: contextvars.ContextVar[Reporter | None] = contextvars.ContextVar(
            "taskmill_step_reporter", default=None
        )
        #: Task.add_requirements / ignore_requirements / force_requirements_env_freeze, applied to
        #: the requirements the main task records (ClearML: called before Task.init)
        self.requirements_added: dict[str, str] = {}
        self.requirements_ignored: set[str] = set()
        self.requirements_file: str | None = None
        #: ``task id -> uri`` set by ``Logger.set_default_upload_destination`` (a task's loggers share it)
        self.upload_destinations: dict[str, str] = {}
        #: the seed ``Task.init`` gives the random generators (``Task.set_random_seed``; ClearML's default)
        self.random_seed: int | None = 1337
        #: ``Logger.set_reporting_nan_value`` / ``_inf_value``: ``kind -> (replacement, warn period)``
        self.scalar_replacements: dict[str, tuple[float, int]] = {}
        self.scalar_replacement_counts: dict[str, int] = {}
        #: ClearML's process-wide logger switches (matplotlib, TensorBoard grouping)
        self.switches: dict[str, bool] = {}
        #: ``OutputModel.set_default_upload_uri``: where models upload unless told otherwise
        self.model_upload_uri: str | None = None
        #: ``task id -> max history`` of ``Logger.set_default_debug_sample_history``
        self.sample_history: dict[str, int] = {}

    def current_task(self) -> TaskLike | None:
        """The task running here: the pipeline step of this thread/context (in-process steps),
        else the main task, else None."""
        step = self.step_task.get()
        return step if step is not None else self.main_task

    def controlled_requirements(self, recorded: str) -> str:
        """``recorded`` after this process's add/ignore/freeze requirement controls."""
        if not (self.requirements_added or self.requirements_ignored or self.requirements_file):
            return recorded
        # lazy: requirements parsing loads importlib.metadata and packaging (~25 ms of import)
        from taskmill.api.requirements import adjust

        return adjust(recorded, self.requirements_added, self.requirements_ignored, self.requirements_file)

    def session(self) -> Session:
        """The default session, built from the environment on first use."""
        with self.lock:
            if self._session is None:
                self._session = Session(Settings.from_env())
            return self._session

    def use(self, session: Session) -> None:
        """Replace the default session (tests, embedding applications)."""
        with self.lock:
            self._session = session

    def reset(self) -> None:
        """Forget the main task and the default session (closing it)."""
        with self.lock:
            if self._session is not None:
                self._session.close()
            self._session = None
            self.main_task = None
            self.parsed_args.clear()
            self.connect_argparse = True
            self.requirements_added.clear()
            self.requirements_ignored.clear()
            self.requirements_file = None
            self.random_seed = 1337
            self.scalar_replacements.clear()
            self.scalar_replacement_counts.clear()
            self.switches.clear()
            self.sample_history.clear()
            self.model_upload_uri = None


#: The process context (see the module docstring for why this one global exists).
PROCESS = ProcessContext()
