"""A session: the store and artifact storage that API objects talk to, opened on first use.

The process has one default session (built from :class:`~taskmill.config.Settings`) held by
:class:`ProcessContext`, together with the process's *main task*. That is the only
process-wide state in taskmill, and it exists because ClearML's API defines it: ``Task.init``
creates "the" task of the process and ``Task.current_task()`` returns it from anywhere.
"""

from __future__ import annotations

import contextvars
import os
import threading
import weakref
from typing import TYPE_CHECKING, Any

from taskmill.config import Settings
from taskmill.store.base import TaskStore

if TYPE_CHECKING:
    from taskmill.artifacts.storage import ArtifactStore


class Session:
    """Store plus artifact storage for one set of settings. Thread-safe; opens lazily."""

    def __init__(self, settings: Settings, store: TaskStore | None = None) -> None:
        self.settings = settings
        self._store = store
        self._artifacts: ArtifactStore | None = None
        self._lock = threading.Lock()

    @property
    def store(self) -> TaskStore:
        """The task store (opened, and migrated if needed, on first use)."""
        if self._store is None:
            with self._lock:
                if self._store is None:
                    from taskmill.store.factory import open_store

                    self._store = open_store(self.settings.store_url, self.settings.api_key or None)
        return self._store

    @property
    def artifacts(self) -> ArtifactStore:
        """Artifact storage (imports fsspec on first use only: keeps ``import taskmill`` fast)."""
        if self._artifacts is None:
            with self._lock:
                if self._artifacts is None:
                    self._artifacts = self._open_artifacts()
        return self._artifacts

    def _open_artifacts(self) -> ArtifactStore:
        """Where artifacts go: the configured location; with a server store and none configured,
        the server's location when this machine can reach it, else through the server."""
        from taskmill.artifacts.storage import ArtifactStore

        settings = self.settings
        cache = str(settings.cache_dir)
        if not settings.store_url.startswith(("http://", "https://")):
            return ArtifactStore(default_uri=settings.artifacts_uri, cache_dir=cache)
        from taskmill.store.http import HttpTaskStore  # only for server stores: httpx is heavy

        store = self.store
        if isinstance(store, HttpTaskStore) and (
            settings.artifacts_uri == "server" or not settings.artifacts_explicit
        ):
            from taskmill.api.relay import RelayArtifactStore

            if settings.artifacts_uri == "server":
                return RelayArtifactStore(store, cache)
            uri = str(store.server_info().get("artifacts_uri") or "")
            local = (bool(uri) and "://" not in uri) or uri.startswith("file://")
            folder = uri[len("file://") :] if uri.startswith("file://") else uri
            # a local folder of the server's that exists here (same machine or shared mount)
            reachable = not local or os.path.isdir(folder) or os.path.isdir(os.path.dirname(folder))
            return (
                ArtifactStore(default_uri=uri, cache_dir=cache)
                if reachable
                else RelayArtifactStore(store, cache)
            )
        return ArtifactStore(default_uri=settings.artifacts_uri, cache_dir=cache)

    def close(self) -> None:
        """Close the store if it was opened."""
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None


class ProcessContext:
    """Holds the default session and the main task of this process (see module docstring)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._session: Session | None = None
        self.main_task: Any = None  #: the Task created by Task.init (typed Any to avoid a cycle)
        #: PipelineDecorator.run_locally() / debug_pipeline() choose how decorated pipelines run
        self.decorator_mode: str = ""
        self.decorator_default_queue: str | None = None
        #: the decorated pipeline whose function runs in this thread/context
        self.current_pipeline: contextvars.ContextVar[Any] = contextvars.ContextVar(
            "taskmill_current_pipeline", default=None
        )
        #: runs started with multi_instance_support="parallel", waited on by wait_for_multi_pipelines()
        self.multi_pipelines: list[Any] = []
        #: reporters of Task objects of this process, flushed at exit so no report is lost
        self.reporters: weakref.WeakSet[Any] = weakref.WeakSet()
        #: the step task running in this thread/context (in-process pipeline steps)
        self.step_task: contextvars.ContextVar[Any] = contextvars.ContextVar(
            "taskmill_step_task", default=None
        )
        #: where console lines of this thread/context go instead of the main task's log
        self.step_reporter: contextvars.ContextVar[Any] = contextvars.ContextVar(
            "taskmill_step_reporter", default=None
        )
        #: Task.add_requirements / ignore_requirements / force_requirements_env_freeze, applied to
        #: the requirements the main task records (ClearML: called before Task.init)
        self.requirements_added: dict[str, str] = {}
        self.requirements_ignored: set[str] = set()
        self.requirements_file: str | None = None

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
            self.requirements_added.clear()
            self.requirements_ignored.clear()
            self.requirements_file = None


#: The process context (see the module docstring for why this one global exists).
PROCESS = ProcessContext()
