"""Stored pipeline runs written straight into a store, as a controller would leave them.

A run is a controller task in ``<project>/.pipelines/<name>`` tagged ``pipeline``, with its DAG in
the ``Pipeline`` configuration object and live node states from ``put_nodes``; steps are child
tasks. Tests build exactly the records they need and call the runs layer on them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from taskmill.core.model import ConfigObject, Param, ScriptInfo, TaskRecord, new_id, pipelines_project
from taskmill.core.states import TaskStatus, TaskTypes
from taskmill.core.stored import PIPELINE_CONFIG
from taskmill.store.base import TaskStore
from taskmill.types import JSONValue

#: status -> the statuses to pass through from draft to reach it (the store checks transitions)
_PATH: dict[TaskStatus, tuple[TaskStatus, ...]] = {
    TaskStatus.created: (),
    TaskStatus.queued: (TaskStatus.queued,),
    TaskStatus.in_progress: (TaskStatus.in_progress,),
    TaskStatus.completed: (TaskStatus.in_progress, TaskStatus.completed),
    TaskStatus.failed: (TaskStatus.in_progress, TaskStatus.failed),
    TaskStatus.stopped: (TaskStatus.in_progress, TaskStatus.stopped),
}


def move(store: TaskStore, task_id: str, status: TaskStatus) -> TaskRecord:
    """Take a draft task to ``status`` the way a run would (queued tasks sit in ``default``)."""
    record = store.get_task(task_id)
    for step in _PATH[status]:
        if step == TaskStatus.queued:
            store.create_queue("default")
            record = store.enqueue(task_id, "default")
        else:
            record = store.set_status(task_id, step, force=True)
    return record


def make_run(
    store: TaskStore,
    name: str = "etl",
    *,
    project: str = "tests",
    number: int = 1,
    status: TaskStatus = TaskStatus.completed,
    nodes: Mapping[str, dict[str, JSONValue]] | None = None,
    definition: Mapping[str, dict[str, JSONValue]] | None = None,
    params: Mapping[str, JSONValue] | None = None,
    runtime: Mapping[str, JSONValue] | None = None,
    tags: Sequence[str] = (),
    script: ScriptInfo | None = None,
) -> TaskRecord:
    """A run ``<name> #<number>`` with ``Args/`` ``params``, a stored DAG and live ``nodes``."""
    hidden = pipelines_project(project, name)
    store.ensure_project(hidden, system_tags=("pipeline", "hidden"))
    record = store.create_task(
        TaskRecord(
            id=new_id(),
            name=f"{name} #{number}",
            project=hidden,
            task_type=TaskTypes.controller,
            system_tags=("pipeline",),
            tags=tuple(tags),
            script=script or ScriptInfo(),
        )
    )
    if params:
        store.set_params(record.id, [Param("Args", k, v, type(v).__name__) for k, v in params.items()])
    if definition is not None:
        store.set_config(
            record.id, ConfigObject(PIPELINE_CONFIG, json.dumps(dict(definition)), "dictionary", "pipeline")
        )
    if nodes:
        store.put_nodes(record.id, list(nodes.items()))
    if runtime:
        store.update_task(record.id, runtime=dict(runtime))
    move(store, record.id, status)
    return store.get_task(record.id)


def make_step(store: TaskStore, run: TaskRecord, name: str, status: TaskStatus) -> TaskRecord:
    """A step task of ``run`` in ``status``."""
    record = store.create_task(TaskRecord(id=new_id(), name=name, project=run.project, parent=run.id))
    return move(store, record.id, status)
