"""Creating and finding tasks: ``create``, ``get_task``, ``get_tasks``, ``query_tasks``, ``clone``,
and moving tasks in and out of queues.

Lookups read the store once and return handles; ``get_task`` by name picks the most recently
updated match. ``clone`` copies a task's inputs (script, parameters, configuration, tags, type),
never its outputs, in one store batch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Self

from taskmill.api.session import PROCESS
from taskmill.api.task.handle import TaskHandle, current_user
from taskmill.api.task.metadata import TaskMetadata
from taskmill.api.task.parameters import TaskParameters
from taskmill.core.model import TaskRecord, new_id
from taskmill.core.states import TaskStatus
from taskmill.core.states import TaskTypes as TaskTypesEnum
from taskmill.errors import TaskNotFoundError
from taskmill.store.base import TaskFilter


class TaskLookup(TaskMetadata, TaskParameters):
    """Class methods that create, find, clone and queue tasks (a part of ``Task``).

    It builds on the metadata and parameter parts because ``create`` and ``clone`` fill them in.
    """

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
    ) -> Self:
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
                user=current_user(),
            )
            task = cls(session.store.create_task(record), session)
        info = task.get_script_info()
        changes: dict[str, str] = {}
        if script:
            path = Path(script)
            if detect_repository and not repo and path.exists():
                from taskmill.api.capture import local_root, script_info  # lazy: git and subprocess

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
            task.update_parameters({f"Args/{k}": v for k, v in argparse_args})
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
    ) -> Self:
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
    ) -> list[Self]:
        """Tasks matching all given filters; ``task_name`` matches as a substring.

        ``task_filter`` understands ``status`` (list), ``type`` (list), ``parent``,
        ``system_tags`` (list), ``order_by`` (e.g. ``["-last_update"]``) and ``page_size``.
        """
        session = PROCESS.session()
        tf = dict(task_filter or {})
        projects = (
            [project_name] if isinstance(project_name, str) or project_name is None else list(project_name)
        )
        out: list[Self] = []
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
        source_task: TaskHandle | str | None = None,
        name: str | None = None,
        comment: str | None = None,
        parent: str | None = None,
        project: str | None = None,
    ) -> Self:
        """A new draft copy of ``source_task``: script, parameters, configuration, tags, type.

        Outputs (artifacts, scalars, logs, models) are not copied. ``parent`` defaults to the
        source's parent, or the source itself when it has none.
        """
        session = PROCESS.session()
        store = session.store
        src = source_task if isinstance(source_task, TaskHandle) else cls.get_task(task_id=source_task)
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
            user=current_user(),
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
        task: TaskHandle | str,
        queue_name: str | None = None,
        queue_id: str | None = None,
        force: bool = False,
    ) -> dict[str, Any]:
        """Put a task in a queue (status -> queued). Raises QueueNotFoundError for an unknown
        queue (with the command that creates it). ``force`` first resets a task that ran."""
        session = PROCESS.session()
        task_id = task.id if isinstance(task, TaskHandle) else task
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
    def dequeue(cls, task: TaskHandle | str) -> dict[str, Any]:
        """Take a queued task out of its queue (status -> created)."""
        task_id = task.id if isinstance(task, TaskHandle) else task
        rec = PROCESS.session().store.dequeue(task_id)
        return {"dequeued": 1, "updated": 1, "fields": {"status": rec.status.value}}
