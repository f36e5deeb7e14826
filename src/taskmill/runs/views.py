"""The read model of pipeline runs: frozen views built from stored records, for the CLI and the UI.

A run's steps are the nodes of its ``Pipeline`` configuration object overlaid with the live states
from :meth:`~taskmill.store.base.TaskStore.get_nodes` (live nodes are written only once they change,
so the definition fills in steps that have not started yet), in topological order.
:mod:`taskmill.runs.commands` is the entry point that loads them; this module only shapes data
(:func:`load_nodes` and :func:`task_ref` read the store, nothing here writes).

A step's *attempts* are every task that ran it in this run: the node lists the ids of its current
run of the controller (``attempts``), and the run's child tasks carry the step name in
``runtime["pipeline_step"]``, which also keeps the attempts of earlier controller runs (a resume
starts the failed steps afresh) visible: :func:`step_tasks` and :func:`step_attempts`.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from taskmill.core.dag import Dag
from taskmill.core.model import TaskRecord
from taskmill.core.pipeline import NodeStatus
from taskmill.core.states import TaskStatus
from taskmill.core.stored import PIPELINE_CONFIG
from taskmill.errors import NotFoundError, SpecError
from taskmill.runs.processes import ControllerInfo
from taskmill.store.base import TaskStore
from taskmill.types import JSONValue

_RUN_NUMBER = re.compile(r" #\d+$")
#: The runtime property naming the step a run's child task ran.
STEP_PROPERTY = "pipeline_step"
_DONE = (NodeStatus.completed.value, NodeStatus.cached.value)

#: A stored node: ``Node.to_dict()`` of the engine.
NodeData = dict[str, JSONValue]


@dataclass(frozen=True)
class PipelineSummary:
    """One pipeline (a ``<project>/.pipelines/<name>`` project) and how its runs went."""

    project: str
    name: str
    runs: int
    last_run: float | None  #: when the newest run was created
    counts: dict[str, int]  #: runs per bucket (running, pending, completed, failed, aborted)
    latest_version: str | None
    tags: tuple[str, ...]  #: tags of its runs, newest runs first

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return asdict(self)


@dataclass(frozen=True)
class StepView:
    """One step of a run, as its DAG shows it."""

    name: str
    status: str  #: a :class:`NodeStatus` value
    task_id: str | None
    started: float | None
    ended: float | None
    duration: float | None  #: None for cached steps (nothing ran in this run) and steps not started
    attempts: tuple[str, ...]
    parents: tuple[str, ...]
    stage: str | None
    cache: str  #: hit, miss, disabled, forced, or "" when no decision was recorded
    message: str
    kind: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return asdict(self)


@dataclass(frozen=True)
class RunSummary:
    """One run of a pipeline (a row of the runs table)."""

    id: str
    name: str
    project: str
    pipeline: str
    version: str
    status: TaskStatus
    message: str
    started: float | None
    ended: float | None
    duration: float | None
    done: int  #: steps completed or cached
    total: int
    tags: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {**asdict(self), "status": self.status.value}


@dataclass(frozen=True)
class RunDetail:
    """A run with its parameters and steps."""

    summary: RunSummary
    record: TaskRecord
    params: dict[str, JSONValue]
    steps: tuple[StepView, ...]
    controller: ControllerInfo

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            **self.summary.to_dict(),
            "params": dict(self.params),
            "steps": [s.to_dict() for s in self.steps],
            "controller": asdict(self.controller),
            "record": self.record.to_dict(),
        }


def pipeline_of(run: TaskRecord) -> tuple[str, str]:
    """``(project, pipeline name)`` of a run."""
    project, sep, name = run.project.rpartition("/.pipelines/")
    return (project, name) if sep else (run.project, _RUN_NUMBER.sub("", run.name))


def _strs(value: JSONValue) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def _num(value: JSONValue) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def load_nodes(store: TaskStore, run: TaskRecord) -> list[tuple[str, NodeData]]:
    """The run's steps: the stored definition overlaid with live states, in topological order."""
    definition: dict[str, NodeData] = {}
    for config in store.get_configs(run.id):
        if config.name == PIPELINE_CONFIG:
            try:
                data = json.loads(config.value)
            except ValueError:
                data = {}
            definition = (
                {str(k): v for k, v in data.items() if isinstance(v, dict)} if isinstance(data, dict) else {}
            )
    merged = {name: dict(node) for name, node in definition.items()}
    for name, node in store.get_nodes(run.id):
        merged[name] = {**merged.get(name, {}), **node}
    parents = {n: [p for p in _strs(d.get("parents")) if p in merged and p != n] for n, d in merged.items()}
    try:
        order: Sequence[str] = Dag.from_parents(parents).order
    except SpecError:  # a damaged record: show it in stored order rather than not at all
        order = list(merged)
    return [(name, merged[name]) for name in order]


def settled_nodes(run: TaskRecord, nodes: list[tuple[str, NodeData]]) -> list[tuple[str, NodeData]]:
    """``nodes`` as they are to be shown: once the run has ended, a node still recorded as running
    or queued shows as aborted, and one that never started as skipped (a controller that died
    left them so; its run was ended by someone else, such as the next open of the store). Only
    the view changes: the stored nodes stay as they are, for resume to read."""
    if not run.status.is_final:
        return nodes
    why = f"the run ended ({run.status.label}) before this step did"
    settled: list[tuple[str, NodeData]] = []
    for name, node in nodes:
        status = node.get("status") or NodeStatus.pending.value
        if status in (NodeStatus.running.value, NodeStatus.queued.value):
            node = {**node, "status": NodeStatus.aborted.value, "message": node.get("message") or why}
        elif status == NodeStatus.pending.value:
            node = {**node, "status": NodeStatus.skipped.value, "message": node.get("message") or why}
        settled.append((name, node))
    return settled


def step_view(name: str, node: NodeData, now: float) -> StepView:
    """The view of one stored node (``now`` measures steps still running)."""
    status = str(node.get("status") or NodeStatus.pending.value)
    started, ended = _num(node.get("job_started")), _num(node.get("job_ended"))
    duration = None
    if status != NodeStatus.cached.value and started is not None:
        if ended is not None:
            duration = ended - started
        elif status == NodeStatus.running.value:
            duration = now - started
    cache = node.get("cache")
    stage = node.get("stage")
    return StepView(
        name=name,
        status=status,
        task_id=str(node["job_id"]) if node.get("job_id") else None,
        started=started,
        ended=ended,
        duration=duration,
        attempts=tuple(_strs(node.get("attempts"))),
        parents=tuple(_strs(node.get("parents"))),
        stage=str(stage) if stage else None,
        cache=str(cache.get("result") or "") if isinstance(cache, dict) else "",
        message=str(node.get("message") or ""),
        kind=str(node.get("kind") or ""),
    )


def run_summary(run: TaskRecord, nodes: list[tuple[str, NodeData]], now: float | None) -> RunSummary:
    """The summary of a run from its record and its :func:`load_nodes`."""
    now = time.time() if now is None else now
    duration = None
    if run.started is not None:
        end = run.completed if run.completed is not None else (None if run.status.is_final else now)
        duration = end - run.started if end is not None else None
    message = run.status_reason or run.status_message
    project, name = pipeline_of(run)
    return RunSummary(
        id=run.id,
        name=run.name,
        project=project,
        pipeline=name,
        version=str(run.runtime.get("version") or ""),
        status=run.status,
        message="" if message in (run.status.value, "started") else message,
        started=run.started,
        ended=run.completed,
        duration=duration,
        done=sum(1 for _, d in nodes if d.get("status") in _DONE),
        total=len(nodes),
        tags=run.tags,
    )


def task_ref(store: TaskStore, task_id: str) -> dict[str, JSONValue]:
    """Id, name and run of a task an explanation points at (so people can go look)."""
    try:
        rec = store.get_task(task_id)
    except NotFoundError:
        return {"id": task_id, "name": "", "deleted": True}
    ref: dict[str, JSONValue] = {"id": rec.id, "name": rec.name, "status": rec.status.value}
    if rec.parent:
        try:
            ref["run_id"], ref["run_name"] = rec.parent, store.get_task(rec.parent).name
        except NotFoundError:
            ref["run_id"] = rec.parent
    return ref


@dataclass(frozen=True)
class Attempt:
    """One task that ran (or tried to run) a step: numbered from 1 in creation order; ``current``
    is the one the step shows now. ``wait`` is creation to start, ``ran`` start to end (None
    while unknown)."""

    number: int
    task_id: str
    status: TaskStatus
    created: float
    started: float | None
    ended: float | None
    message: str
    current: bool

    @property
    def wait(self) -> float | None:
        """Seconds from the task's creation until it started (None before it started)."""
        return None if self.started is None else max(0.0, self.started - self.created)

    @property
    def ran(self) -> float | None:
        """Seconds the task ran (None until it has both started and ended)."""
        if self.started is None or self.ended is None:
            return None
        return max(0.0, self.ended - self.started)


def step_tasks(children: Iterable[TaskRecord]) -> dict[str, list[TaskRecord]]:
    """A run's child tasks by the step they ran, oldest first (tasks without a step are left out)."""
    by_step: dict[str, list[TaskRecord]] = {}
    for rec in children:
        step = rec.runtime.get(STEP_PROPERTY)
        if isinstance(step, str):
            by_step.setdefault(step, []).append(rec)
    for records in by_step.values():
        records.sort(key=lambda r: (r.created, r.id))
    return by_step


def step_attempts(
    view: StepView, tasks: Sequence[TaskRecord], known: Mapping[str, TaskRecord]
) -> list[Attempt]:
    """The attempts of one step: its child ``tasks`` (see :func:`step_tasks`) and the tasks its
    node lists in ``attempts``, found in ``known`` (ids that are in neither are left out, e.g.
    a deleted task). A cached step that ran nothing in this run has no attempts."""
    records = {r.id: r for r in tasks}
    for task_id in view.attempts:
        if task_id not in records and task_id in known:
            records[task_id] = known[task_id]
    ordered = sorted(records.values(), key=lambda r: (r.created, r.id))
    return [
        Attempt(
            number=i,
            task_id=r.id,
            status=r.status,
            created=r.created,
            started=r.started,
            ended=r.completed,
            message=r.status_reason or ("" if r.status_message in ("", r.status.value) else r.status_message),
            current=r.id == view.task_id,
        )
        for i, r in enumerate(ordered, 1)
    ]
