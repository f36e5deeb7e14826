"""Handling a task: rename, retag, move, reload, stop requests, abort callbacks, project lookups.

The instance methods are one store write each (or a read: ``reload``). ``register_abort_callback``
starts a daemon thread that polls the task's status and calls the callback once when the task is
stopped from outside (UI, CLI, another process); the class methods find tasks and projects.
Projects have no separate id in taskmill: a project's id is its full name.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Self

from taskmill.api.logger import Logger
from taskmill.api.session import PROCESS
from taskmill.api.task.handle import TaskHandle
from taskmill.api.task.lookup import TaskLookup
from taskmill.core.model import ProjectRecord
from taskmill.core.states import TaskStatus
from taskmill.errors import NotFoundError, TaskNotFoundError
from taskmill.store.base import TaskFilter

#: seconds between two status reads of the abort watcher
ABORT_POLL_SECONDS = 2.0


class TaskControl(TaskLookup):
    """Renaming, tags, projects, reload, stop requests and abort callbacks (a part of ``Task``)."""

    #: the system tag of archived tasks
    archived_tag = "archived"
    _abort_watch: threading.Event | None = None

    @property
    def logger(self) -> Logger:
        """The task's logger (same as ``get_logger()``)."""
        return Logger(self)

    def reload(self) -> None:
        """Read the task's record from the store again (fields are read on access anyway)."""
        self._fresh()

    def rename(self, new_name: str) -> None:
        """Set the task's name."""
        self.set_name(new_name)

    def remove_tags(self, tags: str | Sequence[str]) -> None:
        """Remove tags (absent ones are ignored)."""
        drop = {tags} if isinstance(tags, str) else set(tags)
        self.set_tags([t for t in self.get_tags() if t not in drop])

    def set_project(self, project_id: str | None = None, project_name: str | None = None) -> None:
        """Move the task to a project, given by name (``project_id`` is a name too: projects have
        no other id in taskmill)."""
        target = project_name or project_id
        if not target:
            raise ValueError("set_project needs project_name= (or project_id=)")
        self.move_to_project(new_project_name=target)

    def is_current_task(self) -> bool:
        """True when this is ``Task.current_task()`` (the step or main task running here)."""
        current = PROCESS.current_task()
        return current is not None and current.id == self.id

    def is_main_task(self) -> bool:
        """True when this is the process's main task (``Task.init``)."""
        return PROCESS.main_task is not None and PROCESS.main_task.id == self.id

    def get_executed_queue(self, return_name: bool = False) -> str | None:
        """The queue the task was (last) enqueued on: its id, or its name with ``return_name``;
        None if it never was."""
        name = self._fresh().queue
        if not name:
            return None
        if return_name:
            return name
        try:
            return self._store().get_queue(name).id
        except NotFoundError:
            return name  # the queue was deleted since: its name is all there is

    def get_registered_artifacts(self) -> dict[str, Any]:
        """``{name: object}`` of the artifacts registered with ``register_artifact`` (re-uploaded
        in their final state when the task closes)."""
        return {name: obj for name, (obj, _) in self._registered.items()}

    def mark_stop_request(self, force: bool = False, status_message: str | None = None) -> None:
        """Ask the task to stop: it becomes *stopped*, which the process running it (its abort
        callback, an agent) sees. Blocking (one store write)."""
        self.mark_stopped(force=force, status_message=status_message or "stop requested")

    def stopped(
        self,
        ignore_errors: bool = True,
        force: bool = False,
        status_reason: str | None = None,
        status_message: str | None = None,
    ) -> None:
        """Alias of ``mark_stopped`` (``ignore_errors`` and ``status_reason`` are accepted and ignored)."""
        self.mark_stopped(force=force, status_message=status_message)

    def register_abort_callback(
        self, callback_function: Callable[[], Any] | None, callback_execution_timeout: float = 30.0
    ) -> None:
        """Call ``callback_function`` once when the task is stopped from outside (status *stopped*
        while this process runs it). A daemon thread polls the status every
        :data:`ABORT_POLL_SECONDS`; the callback runs in that thread, and is waited for at most
        ``callback_execution_timeout`` seconds. None unregisters. Registering again replaces it."""
        previous = getattr(self, "_abort_watch", None)
        if previous is not None:
            previous.set()
        if callback_function is None:
            self._abort_watch = None
            return
        stop = threading.Event()
        self._abort_watch = stop
        callback = callback_function

        def watch() -> None:
            while not stop.wait(ABORT_POLL_SECONDS):
                try:
                    status = self._store().get_task(self.id).status
                except Exception:  # store briefly unreachable: look again next round
                    continue
                if status == TaskStatus.stopped:
                    runner = threading.Thread(target=callback, name="taskmill-abort-callback", daemon=True)
                    runner.start()
                    runner.join(timeout=callback_execution_timeout)
                    return
                if status in (TaskStatus.completed, TaskStatus.failed, TaskStatus.published):
                    return

        threading.Thread(target=watch, name=f"taskmill-abort-watch-{self.id[:8]}", daemon=True).start()

    # == class-level lookups =====================================================================

    @classmethod
    def get_by_name(cls, task_name: str) -> Self:
        """The most recently updated task named exactly ``task_name`` in any project.

        Raises TaskNotFoundError when there is none."""
        session = PROCESS.session()
        found = session.store.find_tasks(TaskFilter(name=task_name, limit=1))
        if not found:
            raise TaskNotFoundError(task_name, hint=f"no task named '{task_name}' in any project")
        return cls(found[0], session)

    @classmethod
    def get_all(cls, session: Any = None, log: Any = None, **kwargs: Any) -> list[Self]:
        """Tasks matching ClearML's ``tasks.get_all`` filters, as Task objects (ClearML returns raw
        backend records; ``session`` and ``log`` are accepted and ignored).

        Understands ``id`` (list), ``name`` (substring), ``project`` / ``project_name`` (name or
        list of names), ``status`` (list), ``type`` (list), ``tags``, ``system_tags``, ``parent``,
        ``order_by`` (list, e.g. ``["-last_update"]``) and ``page_size``; others raise ValueError."""
        known = {"id", "name", "project", "project_name", "status", "type", "tags", "system_tags"}
        unknown = set(kwargs) - known - {"parent", "order_by", "page_size", "only_fields"}
        if unknown:
            raise ValueError(f"Task.get_all: unsupported filters {sorted(unknown)}; use {sorted(known)}")
        ids = kwargs.get("id")
        task_filter: Mapping[str, Any] = {
            k: v
            for k in ("status", "type", "system_tags", "parent", "order_by", "page_size")
            if (v := kwargs.get(k))
        }
        return cls.get_tasks(
            task_ids=[ids] if isinstance(ids, str) else ids,
            project_name=kwargs.get("project_name") or kwargs.get("project"),
            task_name=kwargs.get("name"),
            tags=kwargs.get("tags"),
            task_filter=task_filter,
        )

    @classmethod
    def get_projects(cls, **kwargs: Any) -> list[ProjectRecord]:
        """Projects in the store (``name``: only those whose name contains it; hidden projects
        with ``search_hidden=True``)."""
        hidden = bool(kwargs.get("search_hidden", False))
        projects = PROCESS.session().store.list_projects(include_hidden=hidden)
        part = kwargs.get("name")
        return [p for p in projects if not part or str(part).strip("^$") in p.name]

    @classmethod
    def get_project_id(cls, project_name: str, search_hidden: bool = True) -> str | None:
        """The project's id (its name in taskmill), or None when no such project exists."""
        projects = PROCESS.session().store.list_projects(include_hidden=search_hidden)
        return project_name if any(p.name == project_name for p in projects) else None

    def get_project_object(self) -> ProjectRecord:
        """The stored record of this task's project."""
        name = self.project
        for project in self._store().list_projects(include_hidden=True):
            if project.name == name:
                return project
        return ProjectRecord(name=name)

    @classmethod
    def get_num_enqueued_tasks(cls, queue_name: str | None = None, queue_id: str | None = None) -> int:
        """How many tasks wait in the queue (by name, or by id)."""
        store = PROCESS.session().store
        name = queue_name
        if name is None and queue_id is not None:
            name = next((q.name for q in store.list_queues() if q.id == queue_id), None)
        if name is None:
            raise ValueError("get_num_enqueued_tasks needs queue_name= or an existing queue_id=")
        return len(store.queue_entries(name))

    @classmethod
    def resolve_id(cls, obj: Any) -> Any:
        """The id of a task-like object (its ``id``), else ``obj`` unchanged."""
        return obj.id if isinstance(obj, TaskHandle) else obj

    @classmethod
    def normalize_id(cls, id: Any) -> Any:
        """A task id given as an object or a padded string: the bare id string."""
        value = cls.resolve_id(id)
        return value.strip() if isinstance(value, str) else value
