"""Finding pipeline runs and their stored state: numbering, versions, lookup, resume."""

from __future__ import annotations

import re
from collections.abc import Sequence

from taskmill.core.model import TaskRecord, pipelines_project
from taskmill.core.pipeline import NodeStatus
from taskmill.core.states import TaskStatus, TaskTypes
from taskmill.core.versions import DEFAULT_VERSION, is_valid_version, max_version
from taskmill.core.versions import next_version as bump
from taskmill.engine.nodes import Job, Node
from taskmill.errors import TaskNotFoundError
from taskmill.store.base import TaskFilter, TaskStore

#: Configuration object holding the run's DAG (ClearML's name; the UI reads it)
PIPELINE_CONFIG = "Pipeline"


def runs_of(store: TaskStore, hidden_project: str) -> list[TaskRecord]:
    """Controller tasks (runs) in a pipeline's hidden project, newest first."""
    return store.find_tasks(
        TaskFilter(project=hidden_project, task_type=(TaskTypes.controller,), system_tags=("pipeline",))
    )


def next_run_number(store: TaskStore, hidden_project: str, name: str) -> int:
    """N for the next run's name ``<name> #N``."""
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


def resumable_nodes(
    store: TaskStore, run_id: str, nodes: Sequence[Node], recompute: bool | Sequence[str] = False
) -> list[str]:
    """Restore finished steps of a stored run onto ``nodes``; returns the names kept as done.

    A step is kept when it completed (or was cached) and its task is still completed; every other
    step runs again, and so do steps named in ``recompute`` (True: all) and their descendants.
    """
    if recompute is True:
        return []
    rerun = set(recompute or ())
    children: dict[str, list[str]] = {}
    for node in nodes:
        for parent in node.spec.parents:
            children.setdefault(parent, []).append(node.name)
    frontier = list(rerun)
    for name in frontier:
        for child in children.get(name, ()):
            if child not in rerun:
                rerun.add(child)
                frontier.append(child)
    stored = dict(store.get_nodes(run_id))
    done: list[str] = []
    for node in nodes:
        if node.name in rerun:
            continue
        data = stored.get(node.name)
        if not data or data.get("status") not in (NodeStatus.completed.value, NodeStatus.cached.value):
            continue
        job_id = data.get("job_id")
        if not isinstance(job_id, str):
            continue
        try:
            rec = store.get_task(job_id)
        except TaskNotFoundError:
            continue
        if not rec.status.succeeded:
            continue
        node.status = NodeStatus(str(data["status"]))
        node.job_id = job_id
        node.executed = job_id
        node.job = Job(job_id, store, lambda tid: tid, cached=node.status == NodeStatus.cached)
        node.job_started = rec.started
        node.job_ended = rec.completed
        attempts = data.get("attempts")
        node.attempts = [str(a) for a in attempts] if isinstance(attempts, list) else [job_id]
        cache = data.get("cache")
        node.cache = dict(cache) if isinstance(cache, dict) else {}
        node.message = "kept from the previous attempt of this run (resume)"
        done.append(node.name)
    return done


def interrupt_unfinished(store: TaskStore, run_id: str, keep: set[str | None]) -> list[str]:
    """Mark step tasks of a run that never finished (the controller died) as stopped."""
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
