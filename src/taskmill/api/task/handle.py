"""``TaskHandle``: what every part of ``Task`` builds on: a stored task's identity, fields and status.

A handle holds no state the store does not have, except buffered console lines and scalars (in its
reporter, flushed in the background, on ``flush()`` and on ``close()``). Every field is read from the
store on access (``_fresh``), so it is never stale; every change is one store write.
"""

from __future__ import annotations

import getpass
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from taskmill.api.reporter import ConsoleTee, Reporter
from taskmill.api.session import PROCESS, Session
from taskmill.api.task.hooks import install_exit_hooks
from taskmill.core.model import TaskRecord
from taskmill.core.states import TaskStatus
from taskmill.core.states import TaskTypes as TaskTypesEnum
from taskmill.store.base import TaskStore


class TaskHandle:
    """A handle on one stored task (the base of ``Task``; users never build one directly)."""

    def __init__(self, record: TaskRecord, session: Session) -> None:
        """Wrap a stored task. Users get tasks from ``init``, ``create``, ``get_task`` or ``clone``."""
        self._id = record.id
        self._record = record
        self._session = session
        self._rep: Reporter | None = None
        self._rep_lock = threading.Lock()
        self._tees: list[ConsoleTee] = []
        self._attached = False  #: this process runs the task for an agent/launcher (remote values win)
        self._capture_thread: threading.Thread | None = None
        self._closed = False
        #: register_artifact: objects uploaded again when the task closes (their final state)
        self._registered: dict[str, tuple[Any, Mapping[str, Any] | None]] = {}

    # == identity and fields ====================================================================

    @property
    def id(self) -> str:
        """Task id."""
        return self._id

    @property
    def task_id(self) -> str:
        """Alias of ``id``."""
        return self._id

    @property
    def name(self) -> str:
        """Task name."""
        return self._fresh().name

    @property
    def project(self) -> str:
        """Project name (``a/b/c``)."""
        return self._fresh().project

    def get_project_name(self) -> str:
        """Project name."""
        return self.project

    @property
    def task_type(self) -> TaskTypesEnum:
        """Task type."""
        return self._fresh().task_type

    @property
    def parent(self) -> str | None:
        """Parent task id."""
        return self._fresh().parent

    @property
    def status(self) -> str:
        """Current status value (created, queued, in_progress, stopped, completed, failed, published)."""
        return self._fresh().status.value

    def get_status(self) -> str:
        """Current status value, read from the store."""
        return self.status

    def get_status_message(self) -> str:
        """Status message (e.g. why it failed or who stopped it)."""
        return self._fresh().status_message

    @property
    def comment(self) -> str:
        """Free-text description."""
        return self._fresh().comment

    @property
    def data(self) -> TaskRecord:
        """The stored record."""
        return self._fresh()

    @property
    def output_uri(self) -> str:
        """Where artifacts go by default: the task's own destination, else the location this
        process's artifacts go to (with a server store, the server's location, or through it)."""
        return self._fresh().output_uri or self._session.artifacts.default_uri

    @output_uri.setter
    def output_uri(self, value: str | bool) -> None:
        uri = self._session.settings.artifacts_uri if value is True else (value or "")
        self._record = self._store().update_task(self.id, output_uri=str(uri))

    def get_output_destination(self, extra_path: str | None = None, **kwargs: Any) -> str:
        """Default artifact destination, with ``extra_path`` appended when given."""
        base = self.output_uri
        return f"{base.rstrip('/')}/{extra_path.lstrip('/')}" if extra_path else base

    def to_dict(self) -> dict[str, Any]:
        """The stored record as a dict."""
        return self._fresh().to_dict()

    def flush(self, wait_for_uploads: bool = False) -> bool:
        """Write buffered console lines and scalars now (blocking)."""
        for tee in self._tees:
            tee.flush()
        if self._rep is not None:
            self._rep.flush()
        return True

    # == status =================================================================================

    def mark_started(self, force: bool = False) -> None:
        """Set status in_progress."""
        self._set(TaskStatus.in_progress, force=force, message="started")

    def mark_completed(
        self, ignore_errors: bool = True, status_message: str | None = None, force: bool = False
    ) -> None:
        """Set status completed (flushes pending reports first)."""
        self.flush()
        self._set(TaskStatus.completed, force=force, message=status_message or "completed")

    def mark_failed(
        self,
        ignore_errors: bool = True,
        status_reason: str | None = None,
        status_message: str | None = None,
        force: bool = False,
    ) -> None:
        """Set status failed, with a reason."""
        self.flush()
        self._set(TaskStatus.failed, force=force, message=status_message or "failed", reason=status_reason)

    def mark_stopped(self, force: bool = False, status_message: str | None = None) -> None:
        """Set status stopped (shown as Aborted)."""
        self.flush()
        self._set(TaskStatus.stopped, force=force, message=status_message or "stopped")

    def reset(self, set_started_on_success: bool = False, force: bool = False) -> None:
        """Back to draft (created): outputs stay, times are cleared."""
        self._set(TaskStatus.created, force=force, message="reset")

    def publish(self, ignore_errors: bool = True) -> None:
        """Set status published (read-only from then on). A refused transition raises
        InvalidTransitionError unless ``ignore_errors`` (ClearML's default), then nothing changes."""
        from taskmill.errors import InvalidTransitionError

        try:
            self._set(TaskStatus.published, message="published")
        except InvalidTransitionError:
            if not ignore_errors:
                raise

    def started(self, ignore_errors: bool = True, force: bool = False) -> None:
        """Alias of ``mark_started``."""
        self.mark_started(force=force)

    def completed(self, ignore_errors: bool = True) -> None:
        """Alias of ``mark_completed``."""
        self.mark_completed()

    def wait_for_status(
        self,
        status: Sequence[str] = ("completed", "stopped", "closed", "failed", "published"),
        raise_on_status: Sequence[str] | None = ("failed", "stopped"),
        check_interval_sec: float = 0.05,
        timeout: float | None = None,
    ) -> None:
        """Block until the task reaches one of ``status``; raise RuntimeError on ``raise_on_status``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            st = self.status
            if raise_on_status and st in raise_on_status:
                raise RuntimeError(f"task {self.id} ended with status '{st}': {self.get_status_message()}")
            if st in status:
                return
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"task {self.id} still '{st}' after {timeout} s")
            time.sleep(check_interval_sec)

    # == internals ==============================================================================

    def _store(self) -> TaskStore:
        return self._session.store

    def _fresh(self) -> TaskRecord:
        self._record = self._session.store.get_task(self.id)
        return self._record

    def _set(
        self, status: TaskStatus, *, force: bool = False, message: str = "", reason: str | None = None
    ) -> None:
        self._record = self._store().set_status(self.id, status, message=message, reason=reason, force=force)

    def _reporter(self) -> Reporter:
        """The task's background reporter, created on first use (and flushed at process exit)."""
        if self._rep is None:
            with self._rep_lock:
                if self._rep is None:
                    self._rep = Reporter(self._store(), self.id)
                    PROCESS.reporters.add(self._rep)
                    install_exit_hooks()  # flushes this reporter at exit
        return self._rep

    def _console_captured(self) -> bool:
        return bool(self._tees)

    def _join_capture(self) -> None:
        """Wait (at most 60 s) for the background script capture, so the recorded script is whole."""
        t = self._capture_thread
        if t is not None and t is not threading.current_thread():
            t.join(timeout=60)
            self._capture_thread = None


def current_user() -> str:
    """The login name of this process's user ("" when the system cannot tell)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return ""
