"""Resuming a stored run: the finished steps of its last attempt, restored onto engine nodes.

The only module of :mod:`taskmill.runs` that knows the engine's :class:`~taskmill.engine.nodes.Node`:
the controller calls it when it resumes a run, and nothing that only shows runs (the web server,
the CLI's read commands) imports it. Reads the store, changes only the nodes it is given.

The run loop writes node states in batches (every 100 ms), so a controller killed just after a
step's task completed may leave that node *running* in the store. The step tasks' own records
are written first and synchronously, so :func:`stored_steps` trusts them over the batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from taskmill.core.model import TaskRecord
from taskmill.core.pipeline import NodeStatus
from taskmill.engine.nodes import Job, Node
from taskmill.errors import TaskNotFoundError
from taskmill.store.base import TaskFilter, TaskStore

_KEPT = (NodeStatus.completed.value, NodeStatus.cached.value)


def stored_steps(store: TaskStore, run_id: str) -> dict[str, dict[str, Any]]:
    """The run's stored node states, corrected by its step tasks' records: a step whose newest
    task (a child of the run) completed counts as completed with that task, whatever the
    batched node state says. Reads only."""
    stored: dict[str, dict[str, Any]] = {name: dict(data) for name, data in store.get_nodes(run_id)}
    newest: dict[str, TaskRecord] = {}
    for rec in store.find_tasks(TaskFilter(parent=run_id)):
        step = rec.runtime.get("pipeline_step")
        if isinstance(step, str) and (step not in newest or rec.created > newest[step].created):
            newest[step] = rec
    for step, rec in newest.items():
        data = stored.get(step, {})
        if data.get("status") in _KEPT or not rec.status.succeeded:
            continue
        attempts = data.get("attempts")
        kept = [str(a) for a in attempts] if isinstance(attempts, list) else []
        stored[step] = {
            **data,
            "status": NodeStatus.completed.value,
            "job_id": rec.id,
            "attempts": kept if rec.id in kept else [*kept, rec.id],
        }
    return stored


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
    stored = stored_steps(store, run_id)
    done: list[str] = []
    for node in nodes:
        if node.name in rerun:
            continue
        data = stored.get(node.name)
        if not data or data.get("status") not in _KEPT:
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
