"""What the engine works on: the task store, artifact storage, and per-process hand-off memory."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from taskmill.store.base import TaskStore

if TYPE_CHECKING:
    from taskmill.artifacts.storage import ArtifactStore


class Memo:
    """Objects returned by steps that ran in this process, keyed by (task id, return name).

    In-process steps hand their outputs to consumers through here: no serialization, no copy.
    The artifact is still written, so other processes, later runs and resume can read it.
    Thread-safe.
    """

    def __init__(self) -> None:
        self._items: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def put(self, task_id: str, name: str, value: Any) -> None:
        """Remember ``value`` as output ``name`` of ``task_id``."""
        with self._lock:
            self._items[(task_id, name)] = value

    def get(self, task_id: str, name: str) -> tuple[bool, Any]:
        """``(True, value)`` when known, else ``(False, None)``."""
        with self._lock:
            key = (task_id, name)
            if key in self._items:
                return True, self._items[key]
            return False, None

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._items.clear()


class WriteScope:
    """Where in-process steps may leave their artifact writes running (see
    :meth:`ArtifactStore.upload_later`): whoever opens the scope drains it before
    anyone outside this process may read those artifacts (the in-process launcher: at run end).
    Thread-safe."""

    def __init__(self) -> None:
        self._stores: dict[int, ArtifactStore] = {}
        self._lock = threading.Lock()

    def adopt(self, artifacts: ArtifactStore) -> None:
        """Remember that ``artifacts`` has writes of this scope under way."""
        with self._lock:
            self._stores[id(artifacts)] = artifacts

    def drain(self) -> None:
        """Block until every write left running in this scope has ended (idempotent)."""
        with self._lock:
            stores = list(self._stores.values())
        for artifacts in stores:
            artifacts.flush()


#: The write scope of the step running on this thread (set by the in-process launcher around
#: each call; None: outputs are written before the step ends). Rebound only per context.
WRITE_SCOPE: contextvars.ContextVar[WriteScope | None] = contextvars.ContextVar(
    "taskmill-write-scope", default=None
)


@dataclass
class Backend:
    """Store + artifacts (+ a factory turning task ids into API ``Task`` objects for callbacks)."""

    store: TaskStore
    artifacts: ArtifactStore
    task_factory: Callable[[str], Any] = field(default=lambda task_id: task_id)
    memo: Memo = field(default_factory=Memo)
