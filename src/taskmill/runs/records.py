"""Finding stored pipeline runs: lookup, numbering, versions, and ending steps a dead run left.

A run is the controller task of a pipeline, kept in the pipeline's hidden project
``<project>/.pipelines/<name>`` with system tag ``pipeline``. Reads block on the store and change
nothing, except :func:`interrupt_unfinished`, which writes (one status change per task).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from taskmill.core.model import TaskRecord, pipelines_project
from taskmill.core.states import TaskStatus, TaskTypes
from taskmill.core.versions import DEFAULT_VERSION, is_valid_version, max_version
from taskmill.core.versions import next_version as bump
from taskmill.errors import TaskNotFoundError
from taskmill.store.base import TaskFilter, TaskStore


def runs_of(store: TaskStore, hidden_project: str) -> list[TaskRecord]:
    """Controller tasks (runs) in a pipeline's hidden project, newest first."""
    return store.find_tasks(
        TaskFilter(project=hidden_project, task_type=(TaskTypes.controller,), system_tags=("pipeline",))
    )


def all_runs(store: TaskStore) -> list[TaskRecord]:
    """Every pipeline run (controller task) of the store, newest first."""
    flt = TaskFilter(task_type=(TaskTypes.controller,), system_tags=("pipeline",), order="-created")
    return store.find_tasks(flt)


def next_run_number(store: TaskStore, hidden_project: str, name: str) -> int:
    """N for the next run's name ``<name> #N`` (one more than the highest so far; 1 for the first)."""
    pattern = re.compile(rf"^{re.escape(name)} #(\d+)$")
    numbers = [int(m.group(1)) for r in runs_of(store, hidden_project) if (m := pattern.match(r.name))]
    return max(numbers, default=0) + 1


def next_version(store: TaskStore, hidden_project: str, run_id: str, definition: str) -> str:
    """The version of a run without an explicit one: the latest run's version if the
    definition is unchanged, else that version bumped; ``1.0.0`` for the first run."""
    versions: list[tuple[str, str]] = []
    for run in runs_of(store, hidden_project):
        version = str(run.runtime.get("version") or "")
        if run.id != run_id and is_valid_version(version):
            versions.append((version, str(run.runtime.get("_pipeline_hash") or "")))
    if not versions:
        return DEFAULT_VERSION
    latest = max_version(v for v, _ in versions)
    same = any(v == latest and h.split(":")[0] == definition for v, h in versions)
    return latest if same else bump(latest)


def find_run(
    store: TaskStore,
    run_id: str | None = None,
    project: str | None = None,
    name: str | None = None,
    version: str | None = None,
    tags: Sequence[str] | None = None,
) -> TaskRecord:
    """A run by id, or the latest (highest version, then newest) run of a pipeline."""
    if run_id:
        if project or name:
            raise ValueError("give pipeline_id, or pipeline_project and pipeline_name, not both")
        return store.get_task(run_id)
    if not (project and name):
        raise ValueError("give pipeline_id, or pipeline_project and pipeline_name")
    runs = [r for r in runs_of(store, pipelines_project(project, name)) if set(tags or ()) <= set(r.tags)]
    if version:
        runs = [r for r in runs if str(r.runtime.get("version")) == version]
    if not runs:
        raise TaskNotFoundError(name, hint=f"no run of pipeline '{name}' in project '{project}'")
    versions = [
        str(r.runtime.get("version")) for r in runs if is_valid_version(str(r.runtime.get("version")))
    ]
    if versions and not version:
        best = max_version(versions)
        runs = [r for r in runs if str(r.runtime.get("version")) == best]
    return runs[0]


def get_run(store: TaskStore, run_id: str) -> TaskRecord:
    """The controller task of run ``run_id``; a ValueError naming the run for a step's id, and
    saying how to list runs for any other task."""
    record = store.get_task(run_id)
    if "pipeline" in record.system_tags:
        return record
    if record.parent:
        parent = store.get_task(record.parent)
        if "pipeline" in parent.system_tags:
            raise ValueError(
                f"task {record.id} is step '{record.name}' of pipeline run {parent.id} "
                f"({parent.name}); give the run's id"
            )
    raise ValueError(
        f"task {record.id} ({record.name}) is not a pipeline run; list runs with "
        "`taskmill pipelines runs NAME`"
    )


def interrupt_unfinished(store: TaskStore, run_id: str, keep: set[str | None]) -> list[str]:
    """Mark step tasks of a run that never finished (the controller died) as stopped.

    Tasks in ``keep`` and tasks already final are left alone. Returns the ids it stopped;
    idempotent (a second call finds them final).
    """
    stopped = []
    for rec in store.find_tasks(TaskFilter(parent=run_id)):
        if rec.id in keep or rec.status.is_final:
            continue
        store.set_status(
            rec.id,
            TaskStatus.stopped,
            message="interrupted: the pipeline controller stopped; the step runs again on resume",
            force=True,
        )
        stopped.append(rec.id)
    return stopped
