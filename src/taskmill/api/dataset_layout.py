"""Where dataset versions live in the task store (ClearML's hidden layout), and finding them.

A version is a task with the system tag ``dataset`` named ``<name>`` in the project
``<project>/.datasets/<name>``; its runtime properties hold ``version`` and ``dataset_parents``, its
configuration object ``Dataset Content`` the file manifest, its artifact ``data`` its own files.
Lookups are one store query each (blocking); nothing here writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from taskmill.api.session import PROCESS
from taskmill.core.model import TaskRecord
from taskmill.core.states import SUCCEEDED_STATUSES, TaskStatus
from taskmill.store.base import TaskFilter

SYSTEM_TAG = "dataset"
CONTENT = "Dataset Content"
DATA_ARTIFACT = "data"
HIDDEN = "/.datasets/"
SUCCEEDED = tuple(SUCCEEDED_STATUSES)  #: a dataset version is usable once its task ended well


def hidden_project(project: str, name: str) -> str:
    """The project of the versions of dataset ``name`` in ``project``."""
    return f"{project}{HIDDEN}{name}"


def find_versions(
    project: str | None,
    name: str | None,
    *,
    tags: Sequence[str] | None = None,
    status: tuple[TaskStatus, ...] = (),
    include_archived: bool = True,
) -> list[TaskRecord]:
    """Dataset task records matching, newest (last created) first."""
    where: str | None = f"{project}/.datasets" if project else None
    sub = True
    if project and name:
        where, sub = hidden_project(project, name), False
    flt = TaskFilter(
        project=where,
        include_subprojects=sub,
        name=name,
        tags=tuple(tags or ()),
        system_tags=(SYSTEM_TAG,),
        status=status,
        order="-created",
    )
    found = PROCESS.session().store.find_tasks(flt)
    return [r for r in found if include_archived or "archived" not in r.system_tags]


def next_version(project: str, name: str) -> str:
    """The newest version of ``name`` in ``project`` with its last number bumped, else ``1.0.0``."""
    found = find_versions(project, name)
    if not found:
        return "1.0.0"
    last = str(found[0].runtime.get("version", "1.0.0"))
    head, _, tail = last.rpartition(".")
    return f"{head}.{int(tail) + 1}" if tail.isdigit() else f"{last}.1"


def split_project(record: TaskRecord) -> tuple[str, str]:
    """(dataset project, dataset name) of a dataset task."""
    project, sep, name = record.project.partition(HIDDEN)
    return (project, name) if sep else (record.project, record.name)


def parents_of(record: TaskRecord) -> list[str]:
    """Ids of the parent versions of a dataset task."""
    value = record.runtime.get("dataset_parents") or []
    return [str(v) for v in value] if isinstance(value, list) else []


def cache_dir(dataset_id: str) -> Path:
    """Where ``get_local_copy`` assembles the content of version ``dataset_id``."""
    return Path(PROCESS.session().settings.home) / "cache" / "datasets" / dataset_id
