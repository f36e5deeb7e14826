"""``Task``: ClearML's Task API on taskmill's store.

A Task object is a handle on a stored task; it holds no state the store does not have, except
buffered console lines and scalars (flushed in the background, on ``flush()`` and on ``close()``).

Differences from ClearML, on purpose:

* Parameter values keep their type (an int stays an int); ``cast=`` is accepted and ignored.
* ``upload_artifact`` always waits for the upload: the artifact is there when it returns.
* ``Task.init`` always creates a new task (``reuse_last_task_id`` is accepted for compatibility):
  earlier runs are never overwritten.
* ``task.project`` is the project *name* (ClearML returns an id); ``get_project_name()`` too.
"""

from __future__ import annotations

import argparse
import atexit
import getpass
import json
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from taskmill.api import params as P
from taskmill.api.artifact import Artifacts
from taskmill.api.capture import local_root, script_info
from taskmill.api.logger import Logger
from taskmill.api.reporter import ConsoleTee, Reporter
from taskmill.api.requirements import adjust, read_requirements_file, requirement_lines, specifier
from taskmill.api.session import PROCESS, Session
from taskmill.core.model import (
    DEFAULT_SECTION,
    ConfigObject,
    ModelRecord,
    Param,
    ScriptInfo,
    TaskRecord,
    new_id,
    split_key,
)
from taskmill.core.states import TaskStatus
from taskmill.core.states import TaskTypes as TaskTypesEnum
from taskmill.errors import TaskNotFoundError
from taskmill.store.base import TaskFilter, TaskStore
from taskmill.types import JSONValue

T = TypeVar("T")


class Task:
    """A tracked unit of work: a script run, a pipeline step, or a pipeline controller."""

    TaskTypes = TaskTypesEnum
    TaskStatusEnum = TaskStatus

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

    # == creating and finding tasks ===========================================================

    @classmethod
    def init(
        cls,
        project_name: str | None = None,
        task_name: str | None = None,
        task_type: TaskTypesEnum | str = TaskTypesEnum.training,
        tags: Sequence[str] | None = None,
        reuse_last_task_id: bool | str = True,
        continue_last_task: bool | str | int = False,
        output_uri: str | bool | None = None,
        auto_connect_arg_parser: bool | Mapping[str, bool] = True,
        auto_connect_frameworks: bool | Mapping[str, Any] = True,
        auto_connect_streams: bool | Mapping[str, bool] = True,
        auto_resource_monitoring: bool | Mapping[str, Any] = True,
        deferred_init: bool = False,
    ) -> Task:
        """Create the main task of this process and start tracking it (non-blocking, ~ms).

        Records the script, git repository, commit, uncommitted diff and installed packages (in
        the background), and copies stdout/stderr into the task's console log. The task ends
        *completed* when the process exits normally and *failed* (with the traceback in its log)
        on an uncaught exception. Calling it again returns the same task.

        Under an agent or local step launcher (``TASKMILL_TASK_ID`` set) it attaches to that task
        instead, and ``connect()`` then reads the stored (possibly overridden) values.
        """
        with PROCESS.lock:
            if PROCESS.main_task is not None:
                return PROCESS.main_task  # type: ignore[no-any-return]
            session = PROCESS.session()
            store = session.store
            settings = session.settings
            if settings.task_id:
                record = store.get_task(settings.task_id)
                if record.status != TaskStatus.in_progress:
                    record = store.set_status(record.id, TaskStatus.in_progress, message="started")
                task = cls(record, session)
                task._attached = True
            else:
                argv0 = sys.argv[0] if sys.argv and sys.argv[0] else "interactive"
                name = task_name or Path(argv0).stem or "untitled"
                now = time.time()
                uri = (
                    settings.artifacts_uri
                    if output_uri is True
                    else (output_uri or settings.output_uri or "")
                )
                record = store.create_task(
                    TaskRecord(
                        id=new_id(),
                        name=name,
                        project=project_name or "default",
                        task_type=TaskTypesEnum(task_type),
                        status=TaskStatus.in_progress,
                        status_message="started",
                        tags=tuple(tags or ()),
                        user=_user(),
                        output_uri=str(uri),
                        worker="local",
                        created=now,
                        started=now,
                    )
                )
                task = cls(record, session)
                task._start_script_capture()
            if auto_connect_streams:
                task._capture_console()
            if auto_connect_arg_parser:
                _ArgparseHook.install()
            _ExitHooks.install()
            PROCESS.main_task = task
            return task

    @classmethod
    def create(
        cls,
        project_name: str | None = None,
        task_name: str | None = None,
        task_type: TaskTypesEnum | str | None = None,
        repo: str | None = None,
        branch: str | None = None,
        commit: str | None = None,
        script: str | None = None,
        working_directory: str | None = None,
        packages: bool | Sequence[str] | None = None,
        requirements_file: str | Path | None = None,
        docker: str | None = None,
        docker_args: str | None = None,
        docker_bash_setup_script: str | None = None,
        argparse_args: Sequence[tuple[str, str]] | None = None,
        base_task_id: str | None = None,
        add_task_init_call: bool = True,
        force_single_script_file: bool = False,
        binary: str | None = None,
        module: str | None = None,
        detect_repository: bool = True,
    ) -> Task:
        """Create a draft task for a script without running it.

        ``script`` is a path; its git repository is detected unless ``repo`` is given or
        ``detect_repository`` is False. ``packages`` (list) or ``requirements_file`` set the
        requirements; ``argparse_args`` become ``Args/`` parameters. With ``base_task_id`` the
        new task starts as a clone of that task.
        """
        session = PROCESS.session()
        if base_task_id:
            base = cls.get_task(task_id=base_task_id)
            task = cls.clone(base, name=task_name, project=project_name)
        else:
            record = TaskRecord(
                id=new_id(),
                name=task_name or (Path(script).stem if script else "untitled"),
                project=project_name or "default",
                task_type=TaskTypesEnum(task_type or TaskTypesEnum.training),
                user=_user(),
            )
            task = cls(session.store.create_task(record), session)
        info = task.get_script_info()
        changes: dict[str, str] = {}
        if script:
            path = Path(script)
            if detect_repository and not repo and path.exists():
                detected = script_info(str(path.resolve()), with_packages=False)
                task.set_runtime_properties({"script_root": local_root(str(path.resolve()))})
                changes.update(
                    entry_point=detected.entry_point,
                    working_dir=detected.working_dir,
                    repository=detected.repository,
                    branch=detected.branch,
                    commit=detected.commit,
                    diff=detected.diff,
                )
            else:
                changes["entry_point"] = script
        if module:
            changes["entry_point"] = f"-m {module}"
        if repo is not None:
            changes["repository"] = repo
        if branch is not None:
            changes["branch"] = branch
        if commit is not None:
            changes["commit"] = commit
        if working_directory is not None:
            changes["working_dir"] = working_directory
        if binary:
            changes["binary"] = binary
        if requirements_file:
            changes["requirements"] = Path(requirements_file).read_text()
        elif isinstance(packages, Sequence) and not isinstance(packages, str):
            changes["requirements"] = "\n".join(packages)
        if changes:
            task.set_script(**{**info.to_dict(), **changes})
        if argparse_args:
            task.set_parameters({f"Args/{k}": v for k, v in argparse_args}, __update=True)
        return task

    @classmethod
    def get_task(
        cls,
        task_id: str | None = None,
        project_name: str | None = None,
        task_name: str | None = None,
        tags: Sequence[str] | None = None,
        allow_archived: bool = True,
        task_filter: Mapping[str, Any] | None = None,
    ) -> Task:
        """Get a task by id, or the most recently updated one with ``task_name`` in ``project_name``.

        A pipeline run is found by its project too: ``project_name`` also searches the hidden
        ``<project>/.pipelines/...`` sub-projects (ClearML does not, issue #1353).
        Raises TaskNotFoundError naming what was looked for.
        """
        session = PROCESS.session()
        if task_id:
            return cls(session.store.get_task(task_id), session)
        if not task_name:
            raise ValueError("Task.get_task needs task_id, or task_name (and usually project_name)")
        flt = TaskFilter(project=project_name, name=task_name, tags=tuple(tags or ()), limit=1)
        found = session.store.find_tasks(flt)
        if not found and project_name:
            found = session.store.find_tasks(
                TaskFilter(
                    project=f"{project_name}/.pipelines",
                    include_subprojects=True,
                    name=task_name,
                    tags=tuple(tags or ()),
                    limit=1,
                )
            )
        if not found:
            where = f"project '{project_name}'" if project_name else "any project"
            raise TaskNotFoundError(task_name, hint=f"looked for name '{task_name}' in {where}")
        return cls(found[0], session)

    @classmethod
    def get_tasks(
        cls,
        task_ids: Sequence[str] | None = None,
        project_name: str | Sequence[str] | None = None,
        task_name: str | None = None,
        tags: Sequence[str] | None = None,
        allow_archived: bool = True,
        task_filter: Mapping[str, Any] | None = None,
    ) -> list[Task]:
        """Tasks matching all given filters; ``task_name`` matches as a substring.

        ``task_filter`` understands ``status`` (list), ``type`` (list), ``parent``,
        ``system_tags`` (list), ``order_by`` (e.g. ``["-last_update"]``) and ``page_size``.
        """
        session = PROCESS.session()
        tf = dict(task_filter or {})
        projects = (
            [project_name] if isinstance(project_name, str) or project_name is None else list(project_name)
        )
        out: list[Task] = []
        for project in projects:
            order = tf.get("order_by") or ["-last_update"]
            flt = TaskFilter(
                project=project,
                name_contains=task_name,
                ids=tuple(task_ids or ()),
                tags=tuple(t for t in (tags or ()) if not t.startswith("-")),
                status=tuple(TaskStatus.parse(s) for s in tf.get("status", ())),
                task_type=tuple(TaskTypesEnum(t) for t in tf.get("type", ())),
                parent=tf.get("parent"),
                system_tags=tuple(tf.get("system_tags", ())),
                order=str(order[0] if isinstance(order, list) else order),
                limit=tf.get("page_size"),
            )
            found = session.store.find_tasks(flt)
            out += [cls(r, session) for r in found if allow_archived or "archived" not in r.system_tags]
        return out

    @classmethod
    def query_tasks(
        cls,
        project_name: str | Sequence[str] | None = None,
        task_name: str | None = None,
        tags: Sequence[str] | None = None,
        additional_return_fields: Sequence[str] | None = None,
        task_filter: Mapping[str, Any] | None = None,
    ) -> list[str] | list[dict[str, Any]]:
        """Ids of the matching tasks (filters as in :meth:`get_tasks`); with
        ``additional_return_fields``, dicts of ``id`` and those fields of each task."""
        tasks = cls.get_tasks(
            project_name=project_name, task_name=task_name, tags=tags, task_filter=task_filter
        )
        if not additional_return_fields:
            return [t.id for t in tasks]
        rows = []
        for t in tasks:
            data = t.to_dict()
            rows.append({"id": t.id, **{f: data.get(f) for f in additional_return_fields}})
        return rows

    @classmethod
    def clone(
        cls,
        source_task: Task | str | None = None,
        name: str | None = None,
        comment: str | None = None,
        parent: str | None = None,
        project: str | None = None,
    ) -> Task:
        """A new draft copy of ``source_task``: script, parameters, configuration, tags, type.

        Outputs (artifacts, scalars, logs, models) are not copied. ``parent`` defaults to the
        source's parent, or the source itself when it has none.
        """
        session = PROCESS.session()
        store = session.store
        src = source_task if isinstance(source_task, Task) else cls.get_task(task_id=source_task)
        rec = src._fresh()
        new = TaskRecord(
            id=new_id(),
            name=name or rec.name,
            project=project or rec.project,
            task_type=rec.task_type,
            parent=parent or rec.parent or rec.id,
            tags=rec.tags,
            system_tags=tuple(t for t in rec.system_tags if t != "archived"),
            comment=comment if comment is not None else rec.comment,
            user=_user(),
            script=rec.script,
            runtime={k: v for k, v in rec.runtime.items() if not k.startswith("_")},
            output_uri=rec.output_uri,
        )
        with store.batch():
            created = store.create_task(new)
            store.set_params(created.id, store.get_params(rec.id))
            for cfg in store.get_configs(rec.id):
                store.set_config(created.id, cfg)
        return cls(created, session)

    @classmethod
    def enqueue(
        cls,
        task: Task | str,
        queue_name: str | None = None,
        queue_id: str | None = None,
        force: bool = False,
    ) -> dict[str, Any]:
        """Put a task in a queue (status -> queued). Raises QueueNotFoundError for an unknown
        queue (with the command that creates it). ``force`` first resets a task that ran."""
        session = PROCESS.session()
        task_id = task.id if isinstance(task, Task) else task
        queue = queue_name or queue_id or "default"
        store = session.store
        if force:
            current = store.get_task(task_id)
            if current.status == TaskStatus.queued:
                store.dequeue(task_id)
            elif current.status not in (TaskStatus.created, TaskStatus.stopped, TaskStatus.failed):
                store.set_status(task_id, TaskStatus.created, message="reset for enqueue", force=True)
        rec = store.enqueue(task_id, queue)
        return {"queued": 1, "updated": 1, "fields": {"status": rec.status.value, "queue": queue}}

    @classmethod
    def dequeue(cls, task: Task | str) -> dict[str, Any]:
        """Take a queued task out of its queue (status -> created)."""
        task_id = task.id if isinstance(task, Task) else task
        rec = PROCESS.session().store.dequeue(task_id)
        return {"dequeued": 1, "updated": 1, "fields": {"status": rec.status.value}}

    @classmethod
    def current_task(cls) -> Task | None:
        """The task running here: the pipeline step running in this thread (in-process steps),
        else the main task of this process (``Task.init``), else None."""
        step = PROCESS.step_task.get()
        if step is not None:
            return step  # type: ignore[no-any-return]
        return PROCESS.main_task  # type: ignore[no-any-return]

    @staticmethod
    def running_locally() -> bool:
        """False when this process runs a task for an agent or step launcher."""
        return not os.environ.get("TASKMILL_TASK_ID")

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
        """Where artifacts go by default ("" = the store's artifact location)."""
        return self._fresh().output_uri or self._session.settings.artifacts_uri

    @output_uri.setter
    def output_uri(self, value: str | bool) -> None:
        uri = self._session.settings.artifacts_uri if value is True else (value or "")
        self._record = self._store().update_task(self.id, output_uri=str(uri))

    def get_output_destination(self) -> str:
        """Default artifact destination."""
        return self.output_uri

    def to_dict(self) -> dict[str, Any]:
        """The stored record as a dict."""
        return self._fresh().to_dict()

    def set_name(self, name: str) -> None:
        """Rename the task."""
        self._record = self._store().update_task(self.id, name=name)

    def set_comment(self, comment: str) -> None:
        """Set the description."""
        self._record = self._store().update_task(self.id, comment=comment)

    def set_parent(self, parent: Task | str | None) -> None:
        """Set (or clear) the parent task."""
        pid = parent.id if isinstance(parent, Task) else parent
        self._record = self._store().update_task(self.id, parent=pid)

    def move_to_project(self, new_project_name: str) -> bool:
        """Move the task to another project (created if missing)."""
        self._record = self._store().update_task(self.id, project=new_project_name)
        return True

    def get_tags(self) -> list[str]:
        """User tags."""
        return list(self._fresh().tags)

    def add_tags(self, tags: str | Sequence[str]) -> None:
        """Add user tags (duplicates ignored)."""
        new = [tags] if isinstance(tags, str) else list(tags)
        cur = self.get_tags()
        self._record = self._store().update_task(self.id, tags=cur + [t for t in new if t not in cur])

    def set_tags(self, tags: Sequence[str]) -> None:
        """Replace user tags."""
        self._record = self._store().update_task(self.id, tags=list(tags))

    def get_system_tags(self) -> list[str]:
        """System tags (``pipeline``, ``archived`` ...)."""
        return list(self._fresh().system_tags)

    def set_system_tags(self, tags: Sequence[str]) -> None:
        """Replace system tags."""
        self._record = self._store().update_task(self.id, system_tags=list(tags))

    def set_task_type(self, task_type: TaskTypesEnum | str) -> None:
        """Change the task type."""
        self._record = self._store().update_task(self.id, task_type=TaskTypesEnum(task_type))

    # == script =================================================================================

    def get_script_info(self) -> ScriptInfo:
        """Entry point, working dir, repository, branch, commit, diff and requirements."""
        self._join_capture()
        return self._fresh().script

    def get_script(self) -> dict[str, str]:
        """Script info as a dict (ClearML's ``get_script``)."""
        return self.get_script_info().to_dict()

    def set_script(self, **fields: str) -> None:
        """Change script fields (entry_point, working_dir, repository, branch, commit, diff, ...)."""
        info = {**self._fresh().script.to_dict(), **fields}
        self._record = self._store().update_task(self.id, script=ScriptInfo.from_dict(info))

    def set_repo(self, repo: str | None = None, branch: str | None = None, commit: str | None = None) -> None:
        """Set the repository fields."""
        changes = {
            k: v for k, v in (("repository", repo), ("branch", branch), ("commit", commit)) if v is not None
        }
        self.set_script(**changes)

    def set_packages(self, packages: str | Sequence[str] | Path) -> None:
        """Set the requirements: a list of specifiers, or a requirements file path."""
        if isinstance(packages, Path) or (isinstance(packages, str) and Path(packages).is_file()):
            text = Path(packages).read_text()
        elif isinstance(packages, str):
            text = packages
        else:
            text = "\n".join(packages)
        self.set_script(requirements=text)

    def get_requirements(self) -> list[str]:
        """Recorded requirements, one specifier per item."""
        return [ln for ln in self.get_script_info().requirements.splitlines() if ln.strip()]

    @classmethod
    def add_requirements(cls, package_name: str, package_version: str | None = None) -> None:
        """Add a package to the requirements the task records (ClearML: call before ``Task.init``).

        ``package_version`` None records the installed version (the bare name when it is not
        installed); a requirements file path as ``package_name`` adds every line of it. Called
        after ``Task.init``, it updates the main task's recorded requirements at once.
        """
        path = Path(package_name)
        if package_version is None and path.suffix == ".txt" and path.is_file():
            PROCESS.requirements_added.update(requirement_lines(read_requirements_file(path)))
        else:
            PROCESS.requirements_added[package_name] = specifier(package_name, package_version)
        cls._apply_requirement_controls()

    @classmethod
    def ignore_requirements(cls, package_names: str | Sequence[str]) -> None:
        """Leave packages out of the recorded requirements (ClearML: call before ``Task.init``)."""
        names = [package_names] if isinstance(package_names, str) else list(package_names)
        PROCESS.requirements_ignored.update(names)
        cls._apply_requirement_controls()

    @classmethod
    def force_requirements_env_freeze(
        cls, force: bool = True, requirements_file: str | os.PathLike[str] | None = None
    ) -> None:
        """Record the environment's installed packages (what taskmill always records), or, with
        ``requirements_file``, that file's requirements instead."""
        if requirements_file is not None:
            PROCESS.requirements_file = read_requirements_file(requirements_file)
        elif not force:
            PROCESS.requirements_file = None
        cls._apply_requirement_controls()

    @classmethod
    def _apply_requirement_controls(cls) -> None:
        task = PROCESS.main_task
        if task is not None and not task._attached:
            task._join_capture()
            info = task.get_script_info()
            task.set_script(requirements=_controlled_requirements(info.requirements))

    # == parameters and configuration ===========================================================

    def connect(self, mutable: T, name: str | None = None, ignore_remote_overrides: bool = False) -> T:
        """Record ``mutable``'s values as parameters, and return it.

        A dict goes to section ``name`` (default ``General``), an argparse namespace to ``Args``,
        any other object's public attributes to ``name`` (default ``General``). When this process
        runs the task for an agent, the stored values (possibly edited for this run) are written
        back into ``mutable`` instead, cast to the types of the code's defaults.

        An ``InputModel`` is recorded as an input model of this task (``name``: its name on the
        task); an ``OutputModel`` of this task is already connected. Either is returned as is.
        """
        from taskmill.api.model import InputModel, OutputModel

        if isinstance(mutable, (InputModel, OutputModel)):
            mutable.connect(self, name=name)
            return mutable
        if isinstance(mutable, argparse.Namespace):
            section = name or "Args"
            items = P.namespace_items(mutable)
        elif isinstance(mutable, Mapping):
            section = name or DEFAULT_SECTION
            items = dict(mutable)
        else:
            section = name or DEFAULT_SECTION
            items = P.object_items(mutable)
        if self._attached and not ignore_remote_overrides:
            stored = {p.name: p.value for p in self._store().get_params(self.id) if p.section == section}
            merged = {k: P.cast_like(stored[k], v) if k in stored else v for k, v in items.items()}
            merged.update({k: v for k, v in stored.items() if k not in items})
            _write_back(mutable, merged)
            missing = {k: v for k, v in items.items() if k not in stored}
            if missing:
                self._store().set_params(self.id, P.params_from_mapping(section, missing))
        else:
            self._store().set_params(self.id, P.params_from_mapping(section, items))
        return mutable

    def connect_configuration(
        self,
        configuration: Any,
        name: str | None = None,
        description: str | None = None,
        ignore_remote_overrides: bool = False,
    ) -> Any:
        """Record a configuration object: a dict (returned as a dict) or a file path (returned as
        a path). Under an agent the stored, possibly edited, configuration is returned instead."""
        cfg_name = name or DEFAULT_SECTION
        store = self._store()
        is_path = isinstance(configuration, Path) or (
            isinstance(configuration, str) and Path(configuration).is_file()
        )
        if self._attached and not ignore_remote_overrides:
            stored = {c.name: c for c in store.get_configs(self.id)}.get(cfg_name)
            if stored is not None:
                if is_path:
                    out = (
                        self._session.settings.cache_dir / "config" / self.id / Path(str(configuration)).name
                    )
                    out.parent.mkdir(parents=True, exist_ok=True)
                    out.write_text(stored.value)
                    return out if isinstance(configuration, Path) else str(out)
                value = json.loads(stored.value)
                if isinstance(configuration, dict):
                    configuration.clear()
                    configuration.update(value)
                    return configuration
                return value
        if is_path:
            text = Path(str(configuration)).read_text()
            store.set_config(self.id, ConfigObject(cfg_name, text, "file", description or ""))
        else:
            text = json.dumps(P.to_json_value(configuration), indent=2, sort_keys=False)
            store.set_config(self.id, ConfigObject(cfg_name, text, "dictionary", description or ""))
        return configuration

    def get_configuration_object(self, name: str) -> str | None:
        """The text of configuration object ``name``, or None."""
        found = {c.name: c for c in self._store().get_configs(self.id)}.get(name)
        return None if found is None else found.value

    def get_configuration_object_as_dict(self, name: str) -> Any:
        """Configuration object ``name`` parsed from JSON, or None."""
        text = self.get_configuration_object(name)
        return None if text is None else json.loads(text)

    def set_configuration_object(
        self,
        name: str,
        config_text: str | None = None,
        description: str | None = None,
        config_type: str | None = None,
        config_dict: Mapping[str, Any] | None = None,
    ) -> None:
        """Store a configuration object from text or a dict."""
        text = (
            json.dumps(P.to_json_value(config_dict), indent=2)
            if config_dict is not None
            else (config_text or "")
        )
        kind = config_type or ("dictionary" if config_dict is not None else "text")
        self._store().set_config(self.id, ConfigObject(name, text, kind, description or ""))

    def get_configuration_objects(self) -> dict[str, str]:
        """All configuration objects, name -> text."""
        return {c.name: c.value for c in self._store().get_configs(self.id)}

    def get_parameters(self, backwards_compatibility: bool = True, cast: bool = False) -> dict[str, Any]:
        """All parameters as ``{"Section/name": value}``; values keep their stored type."""
        return dict(self._store().get_param_dict(self.id))

    def get_parameters_as_dict(self, cast: bool = False) -> dict[str, dict[str, Any]]:
        """Parameters nested by section: ``{"Args": {"lr": 0.1}}``."""
        out: dict[str, dict[str, Any]] = {}
        for p in self._store().get_params(self.id):
            out.setdefault(p.section, {})[p.name] = p.value
        return out

    def get_parameter(self, name: str, default: Any = None, cast: bool = False) -> Any:
        """One parameter by ``Section/name`` (a bare name means ``General/name``)."""
        key = "/".join(split_key(name))
        return self._store().get_param_dict(self.id).get(key, default)

    def set_parameter(
        self, name: str, value: Any, description: str | None = None, value_type: Any = None
    ) -> None:
        """Set one parameter; a key without a section goes to ``General/``."""
        section, pname = split_key(name)
        vtype = value_type.__name__ if isinstance(value_type, type) else (value_type or P.type_name(value))
        self._store().set_params(
            self.id, [Param(section, pname, P.to_json_value(value), str(vtype), description or "")]
        )

    def set_parameters(self, *args: Mapping[str, Any], __update: bool = False, **kwargs: Any) -> None:
        """Replace all parameters with the given ``{"Section/name": value}`` (keys without a
        section go to ``General/``). ``__update=True`` merges instead (see ``update_parameters``)."""
        update = __update or bool(kwargs.pop("__update", False))  # callers outside the class
        flat: dict[str, Any] = {}
        for a in args:
            flat.update(a)
        flat.update(kwargs)
        self._store().set_params(self.id, P.params_from_flat(flat), replace=not update)

    def update_parameters(self, *args: Mapping[str, Any], **kwargs: Any) -> None:
        """Merge the given parameters into the existing ones."""
        self.set_parameters(*args, __update=True, **kwargs)

    def delete_parameter(self, name: str) -> bool:
        """Delete one ``Section/name`` parameter."""
        self._store().delete_params(self.id, [split_key(name)])
        return True

    def set_parameters_as_dict(self, dictionary: Mapping[str, Mapping[str, Any]]) -> None:
        """Replace parameters from ``{"Section": {"name": value}}``."""
        flat = {f"{s}/{k}": v for s, d in dictionary.items() for k, v in d.items()}
        self.set_parameters(flat)

    def set_user_properties(self, *args: Mapping[str, Any], **kwargs: Any) -> bool:
        """Set user properties (section ``properties``)."""
        items: dict[str, Any] = {}
        for a in args:
            items.update(a)
        items.update(kwargs)
        self._store().set_params(self.id, P.params_from_mapping("properties", items))
        return True

    def get_user_properties(self, value_only: bool = False) -> dict[str, Any]:
        """User properties (section ``properties``)."""
        return {p.name: p.value for p in self._store().get_params(self.id) if p.section == "properties"}

    def set_runtime_properties(self, properties: Mapping[str, JSONValue]) -> None:
        """Merge runtime properties (free-form values the system records)."""
        self._record = self._store().update_task(self.id, runtime=dict(properties))

    def get_runtime_properties(self) -> dict[str, JSONValue]:
        """Runtime properties."""
        return dict(self._fresh().runtime)

    def set_base_docker(
        self,
        docker_image: str | None = None,
        docker_arguments: str | Sequence[str] | None = None,
        docker_setup_bash_script: str | Sequence[str] | None = None,
    ) -> None:
        """Record the container a ClearML agent in docker mode would use (``runtime.docker``).

        taskmill agents run tasks in virtualenvs, as ClearML's agent does without ``--docker``:
        the image is recorded and shown, not used.
        """
        args: list[JSONValue] = (
            [docker_arguments] if isinstance(docker_arguments, str) else list(docker_arguments or ())
        )
        setup = docker_setup_bash_script
        script: list[JSONValue] = list(setup.splitlines() if isinstance(setup, str) else setup or ())
        self.set_runtime_properties(
            {"docker": {"image": docker_image or "", "arguments": args, "setup_script": script}}
        )

    def set_archived(self, archive: bool) -> None:
        """Archive or restore the task (system tag ``archived``; ``get_tasks(allow_archived=False)``
        leaves archived tasks out)."""
        tags = [t for t in self.get_system_tags() if t != "archived"]
        self.set_system_tags([*tags, "archived"] if archive else tags)

    def get_archived(self) -> bool:
        """True when the task is archived."""
        return "archived" in self.get_system_tags()

    def get_output_log_web_page(self) -> str:
        """The web UI page of this task when the store is a ``taskmill server``, else ``""``."""
        url = self._session.settings.store_url
        if url.startswith(("http://", "https://")):
            return f"{url.rstrip('/')}/tasks/{self.id}"
        return ""

    # == outputs ================================================================================

    @property
    def artifacts(self) -> Artifacts:
        """``name -> Artifact`` (read from the store on every access)."""
        return Artifacts(self._store().get_artifacts(self.id), self._session, self.id)

    def upload_artifact(
        self,
        name: str,
        artifact_object: Any,
        metadata: Mapping[str, Any] | None = None,
        delete_after_upload: bool = False,
        auto_pickle: bool | None = None,
        preview: Any = None,
        wait_on_upload: bool = False,
        extension_name: str | None = None,
        serialization_function: Callable[[Any], bytes] | None = None,
        retries: int = 0,
        sort_keys: bool = True,
    ) -> bool:
        """Store ``artifact_object`` as artifact ``name`` (replacing one of the same name).

        Numpy arrays go to ``.npy``, DataFrames to Parquet, dicts/lists to JSON, file/folder
        paths as the file (folders zipped), anything else through cloudpickle. Blocking: the
        artifact is stored, hashed and recorded when this returns.
        """
        own_uri = self._fresh().output_uri
        record = self._session.artifacts.upload(
            self.id,
            name,
            artifact_object,
            output_uri=own_uri or None,
            metadata={k: P.to_json_value(v) for k, v in (metadata or {}).items()},
            preview=None if preview is None else str(preview),
            serialization_function=serialization_function,
            extension_name=extension_name,
        )
        self._store().put_artifact(record)
        if (
            delete_after_upload
            and isinstance(artifact_object, (str, Path))
            and Path(artifact_object).is_file()
        ):
            Path(artifact_object).unlink()
        return True

    def register_artifact(
        self,
        name: str,
        artifact: Any,
        metadata: Mapping[str, Any] | None = None,
        uniqueness_columns: bool | Sequence[str] = True,
    ) -> None:
        """Upload ``artifact`` (e.g. a DataFrame you keep changing) now and again, in its final
        state, when the task closes. Blocking for the first upload."""
        self._registered[name] = (artifact, metadata)
        self.upload_artifact(name, artifact, metadata=metadata)

    def unregister_artifact(self, name: str) -> None:
        """Stop re-uploading ``name`` at close (its last upload stays)."""
        self._registered.pop(name, None)

    def delete_artifacts(
        self, artifact_names: Sequence[str], raise_on_errors: bool = True, delete_from_storage: bool = True
    ) -> bool:
        """Remove artifacts (their records, and their bytes when ``delete_from_storage``)."""
        current = {a.name: a for a in self._store().get_artifacts(self.id)}
        for n in artifact_names:
            rec = current.get(n)
            if rec is None:
                if raise_on_errors:
                    raise KeyError(f"task {self.id} has no artifact '{n}'")
                continue
            if delete_from_storage:
                self._session.artifacts.delete(rec)
            self._store().delete_artifact(self.id, n)
        return True

    @property
    def models(self) -> dict[str, list[ModelRecord]]:
        """``{"input": [...], "output": [...]}`` model records."""
        out: dict[str, list[ModelRecord]] = {"input": [], "output": []}
        for m in self._store().get_models(self.id):
            out.setdefault(m.mode, []).append(m)
        return out

    def update_output_model(
        self,
        model_path: str | Path,
        name: str | None = None,
        comment: str | None = None,
        tags: Sequence[str] | None = None,
        model_name: str | None = None,
        iteration: int | None = None,
        auto_delete_file: bool = True,
        framework: str = "",
    ) -> ModelRecord:
        """Register a weights file (or folder, zipped) as an output model of this task.

        A new ``OutputModel`` of this task: the file is stored like an artifact (``model:<name>``)
        and the model record points at it, so ``${step.models.output.-1.url}`` references resolve
        to it. Blocking. The local file is kept (``auto_delete_file`` is ignored).
        """
        from taskmill.api.model import OutputModel

        path = Path(model_path)
        if not path.exists():
            raise FileNotFoundError(f"model file {path} does not exist")
        label = name or model_name or path.stem
        model = OutputModel(task=self, name=label, comment=comment, tags=tags, framework=framework)
        model.update_weights(path, iteration=iteration)
        return next(m for m in self._store().get_models(self.id) if m.id == model.id)

    def get_logger(self) -> Logger:
        """The task's logger (scalars, text, tables)."""
        return Logger(self)

    def get_reported_scalars(
        self, max_samples: int = 0, x_axis: str = "iter"
    ) -> dict[str, dict[str, dict[str, list[float]]]]:
        """``{title: {series: {"x": [iterations], "y": [values]}}}``."""
        self.flush()
        out: dict[str, dict[str, dict[str, list[float]]]] = {}
        for p in self._store().get_scalars(self.id):
            s = out.setdefault(p.title, {}).setdefault(p.series, {"x": [], "y": []})
            s["x"].append(p.iteration if x_axis == "iter" else p.timestamp)
            s["y"].append(p.value)
        return out

    def get_reported_single_values(self) -> dict[str, float]:
        """Values reported with ``report_single_value``."""
        self.flush()
        return {p.series: p.value for p in self._store().get_scalars(self.id) if p.title == "Summary"}

    def get_last_scalar_metrics(self) -> dict[str, dict[str, dict[str, float]]]:
        """``{title: {series: {"last": v, "min": v, "max": v}}}`` over the reported scalars."""
        self.flush()
        out: dict[str, dict[str, dict[str, float]]] = {}
        for p in self._store().get_scalars(self.id):
            entry = out.setdefault(p.title, {}).setdefault(
                p.series, {"last": p.value, "min": p.value, "max": p.value}
            )
            entry["last"] = p.value
            entry["min"] = min(entry["min"], p.value)
            entry["max"] = max(entry["max"], p.value)
        return out

    def get_reported_plots(self) -> list[dict[str, Any]]:
        """Reported tables and charts."""
        return [
            {"title": p.title, "series": p.series, "iteration": p.iteration, "kind": p.kind, "data": p.data}
            for p in self._store().get_plots(self.id)
        ]

    def get_reported_console_output(self, number_of_reports: int = 0) -> list[str]:
        """Console lines (the last ``number_of_reports`` lines when > 0)."""
        self.flush()
        tail = number_of_reports if number_of_reports > 0 else None
        return [ln.text for ln in self._store().get_log(self.id, tail=tail)]

    def set_progress(self, progress: int) -> None:
        """Set progress (0-100)."""
        self._record = self._store().update_task(self.id, progress=max(0, min(100, int(progress))))

    def get_progress(self) -> int:
        """Progress (0-100)."""
        return self._fresh().progress

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

    def publish(self) -> None:
        """Set status published (read-only from then on)."""
        self._set(TaskStatus.published, message="published")

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

    def close(self) -> None:
        """Stop tracking: flush reports, restore the console, and complete a running main task."""
        if self._closed:
            return
        self._closed = True
        self._join_capture()
        for name, (obj, metadata) in list(self._registered.items()):
            self.upload_artifact(name, obj, metadata=metadata)
        self._release_console()
        if self._rep is not None:
            self._rep.close()
        if self._fresh().status == TaskStatus.in_progress:
            self._set(TaskStatus.completed, message="completed")
        with PROCESS.lock:
            if PROCESS.main_task is self:
                PROCESS.main_task = None

    def execute_remotely(
        self, queue_name: str | None = None, clone: bool = False, exit_process: bool = True
    ) -> Task | None:
        """Stop running here and hand the task to an agent.

        Locally: the task (or a clone) becomes a draft, is enqueued on ``queue_name`` when given,
        and the process exits (``exit_process``). Under an agent: does nothing and returns None,
        so the script goes on.
        """
        if self._attached:
            return None
        self._join_capture()
        self.flush()
        target: Task = self
        if clone:
            target = Task.clone(self)
        else:
            self._release_console()
            if self._rep is not None:
                self._rep.close()
            if self._fresh().status != TaskStatus.created:
                self._set(TaskStatus.created, message="handed over for remote execution", force=True)
        if queue_name:
            Task.enqueue(target, queue_name=queue_name)
        if exit_process:
            self._closed = True
            with PROCESS.lock:
                PROCESS.main_task = None
            sys.stdout.flush()
            sys.exit(0)
        return target

    def delete(self, delete_artifacts_and_models: bool = True, raise_on_error: bool = False) -> bool:
        """Delete the task and its records (and artifact bytes when asked)."""
        if delete_artifacts_and_models:
            for rec in self._store().get_artifacts(self.id):
                self._session.artifacts.delete(rec)
        self._store().delete_task(self.id)
        return True

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
        if self._rep is None:
            with self._rep_lock:
                if self._rep is None:
                    self._rep = Reporter(self._store(), self.id)
                    PROCESS.reporters.add(self._rep)
                    _ExitHooks.install()  # flushes this reporter at exit
        return self._rep

    def _console_captured(self) -> bool:
        return bool(self._tees)

    def _capture_console(self) -> None:
        rep = self._reporter()
        route = PROCESS.step_reporter.get
        out = ConsoleTee(sys.stdout, rep, "stdout", route)
        err = ConsoleTee(sys.stderr, rep, "stderr", route)
        self._tees = [out, err]
        sys.stdout = out
        sys.stderr = err

    def _release_console(self) -> None:
        for tee in self._tees:
            tee.flush_partial()
        if self._tees:
            out, err = self._tees
            if sys.stdout is out:
                sys.stdout = out.target
            if sys.stderr is err:
                sys.stderr = err.target
        self._tees = []

    def _start_script_capture(self) -> None:
        def capture() -> None:
            try:
                info = script_info()
                info = replace(info, requirements=_controlled_requirements(info.requirements))
                self._store().update_task(self.id, script=info, runtime={"script_root": local_root()})
            except Exception as exc:
                self._reporter().log(f"taskmill: could not record the script ({exc})", "warning")

        self._capture_thread = threading.Thread(target=capture, name="taskmill-capture", daemon=True)
        self._capture_thread.start()

    def _join_capture(self) -> None:
        t = self._capture_thread
        if t is not None and t is not threading.current_thread():
            t.join(timeout=60)
            self._capture_thread = None

    def _finish(self, exc: BaseException | None) -> None:
        """End of the process: failed with the traceback on ``exc``, else completed."""
        if self._closed:
            return
        try:
            if exc is not None and self._fresh().status == TaskStatus.in_progress:
                text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
                self._release_console()
                rep = self._reporter()
                for line in text.rstrip("\n").split("\n"):
                    rep.log(line, "error", "stderr")
                rep.close()
                self._closed = True
                self._set(
                    TaskStatus.failed, message="uncaught exception", reason=f"{type(exc).__name__}: {exc}"
                )
                self._join_capture()
                return
            self.close()
        except Exception as err:
            print(f"taskmill: could not finalise task {self.id}: {err}", file=sys.__stderr__)

    def __repr__(self) -> str:
        return f"<Task id={self.id} name={self._record.name!r} project={self._record.project!r}>"


def _controlled_requirements(recorded: str) -> str:
    """``recorded`` after this process's add/ignore/freeze requirement controls."""
    if not (PROCESS.requirements_added or PROCESS.requirements_ignored or PROCESS.requirements_file):
        return recorded
    return adjust(
        recorded, PROCESS.requirements_added, PROCESS.requirements_ignored, PROCESS.requirements_file
    )


def _user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return ""


def _write_back(mutable: Any, values: Mapping[str, Any]) -> None:
    if isinstance(mutable, argparse.Namespace):
        for k, v in values.items():
            setattr(mutable, k, v)
    elif isinstance(mutable, dict):
        mutable.update(values)
    else:
        for k, v in values.items():
            try:
                setattr(mutable, k, v)
            except AttributeError:
                pass


class _ExitHooks:
    """Completes or fails the main task when the process ends (installed once per process)."""

    @staticmethod
    def install() -> None:
        if getattr(sys.excepthook, "_taskmill", False):
            return
        previous = sys.excepthook

        def hook(exc_type: type[BaseException], exc: BaseException, tb: Any) -> None:
            task = PROCESS.main_task
            if task is not None and not isinstance(exc, KeyboardInterrupt):
                task._finish(exc)
            elif task is not None:
                task._release_console()
                task.mark_stopped(force=True, status_message="interrupted (KeyboardInterrupt)")
                task._closed = True
            previous(exc_type, exc, tb)

        hook._taskmill = True  # type: ignore[attr-defined]
        sys.excepthook = hook

        def at_exit() -> None:
            task = PROCESS.main_task
            if task is not None:
                task._finish(None)
            for reporter in list(PROCESS.reporters):
                try:
                    reporter.close()
                except Exception as err:  # at exit: report and carry on
                    print(f"taskmill: could not flush reports: {err}", file=sys.__stderr__)

        atexit.register(at_exit)


class _ArgparseHook:
    """Connects ``argparse`` results to the main task's ``Args`` section (ClearML's auto-connect)."""

    @staticmethod
    def install() -> None:
        original = argparse.ArgumentParser.parse_known_args
        if getattr(original, "_taskmill", False):
            return

        def parse_known_args(self: argparse.ArgumentParser, args: Any = None, namespace: Any = None) -> Any:
            ns, rest = original(self, args, namespace)
            task = PROCESS.main_task
            if task is not None:
                task.connect(ns, name="Args")
            return ns, rest

        parse_known_args._taskmill = True  # type: ignore[attr-defined]
        argparse.ArgumentParser.parse_known_args = parse_known_args  # type: ignore[method-assign]
