"""What the pipelines, runs and run pages show, gathered from the store and the run commands.

Functions here return plain data (dataclasses and dicts) for templates; they never render HTML.
Everything about pipelines comes from :mod:`taskmill.runs.commands`, the same views the
CLI prints, so the browser and the terminal agree.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from taskmill.core.model import (
    ArtifactRecord,
    ModelRecord,
    Param,
    QueueEntry,
    QueueRecord,
    ScalarPoint,
    TaskRecord,
    WorkerRecord,
)
from taskmill.core.states import TaskStatus
from taskmill.core.stored import KWARGS_ARTIFACTS, SERVICES_QUEUE
from taskmill.errors import NotFoundError
from taskmill.runs import commands
from taskmill.runs.records import get_run
from taskmill.runs.views import RunDetail, RunSummary, StepView, step_view
from taskmill.server.ui.graph import GraphOptions, build_graph
from taskmill.server.ui.runcache import RunCache
from taskmill.server.ui.templating import value_text
from taskmill.store.base import TaskStore

#: An agent silent for longer than this is shown as lost (agents beat every 2 s by default).
AGENT_LOST_AFTER = 30.0
#: Waiting tasks listed per queue.
QUEUE_PREVIEW = 8


@dataclass(frozen=True)
class FormParam:
    """One pipeline parameter of the new-run form, with its current value as text."""

    name: str
    text: str
    type: str
    description: str

    @property
    def multiline(self) -> bool:
        """True when the text has line breaks (edited in a text area, which keeps them)."""
        return "\n" in self.text


@dataclass
class RunsPage:
    """The runs of one pipeline, the newest run's parameters (for the new-run form), the queues."""

    project: str
    name: str
    runs: list[RunSummary]
    latest: RunSummary | None
    form: list[FormParam]
    queues: list[str]


@dataclass
class RunInfo:
    """The run info panel: parameters, last reported metrics, artifacts and output models."""

    params: list[Param]
    metrics: list[ScalarPoint]
    artifacts: list[ArtifactRecord]
    models: list[ModelRecord]


@dataclass
class RunPage:
    """Everything the run page needs up front."""

    detail: RunDetail
    graph: dict[str, Any]
    info: RunInfo
    form: list[FormParam]
    queues: list[str]
    cursor: int  #: the event feed position the page's live stream starts after
    server_now: float
    actions: dict[str, bool] = field(default_factory=dict)


def form_param(param: Param, name: str) -> FormParam:
    """``param`` as the form field ``name``, its value as people type it."""
    return FormParam(
        name, value_text(param.value), param.type or type(param.value).__name__, param.description
    )


def form_params(store: TaskStore, run_id: str) -> list[FormParam]:
    """A run's ``Args/`` parameters as form fields."""
    return [form_param(p, p.name) for p in store.get_params(run_id) if p.section == "Args"]


def draft_fields(params: Iterable[Param]) -> list[FormParam]:
    """A draft task's editable parameters as form fields named ``Section/name`` (every section but
    ``kwargs_artifacts``: those bind arguments to a parent step's outputs and are shown as they are)."""
    return [form_param(p, p.key) for p in params if p.section != KWARGS_ARTIFACTS]


def queue_names(store: TaskStore) -> list[str]:
    """Queue names for the new-run form: ``services`` first (created on use if missing)."""
    names = [q.name for q in store.list_queues()]
    return [SERVICES_QUEUE, *sorted(n for n in names if n != SERVICES_QUEUE)]


def runs_page(store: TaskStore, project: str | None, name: str) -> RunsPage:
    """The runs table of pipeline ``name`` (newest first)."""
    runs = commands.list_runs(store, project, name)
    latest = runs[0] if runs else None
    form = form_params(store, latest.id) if latest else []
    return RunsPage(runs[0].project if runs else project or "", name, runs, latest, form, queue_names(store))


def run_actions(status: TaskStatus) -> dict[str, bool]:
    """Which buttons a run in ``status`` offers."""
    return {
        "abort": status in (TaskStatus.in_progress, TaskStatus.queued),
        "resume": status in (TaskStatus.failed, TaskStatus.stopped),
        "new": True,
    }


def run_info(store: TaskStore, run: TaskRecord) -> RunInfo:
    """Parameters, last value of each reported metric, artifacts and output models of a run."""
    params = [p for p in store.get_params(run.id) if p.section == "Args"]
    return RunInfo(
        params,
        last_scalars(store.get_scalars(run.id)),
        store.get_artifacts(run.id),
        [m for m in store.get_models(run.id) if m.mode == "output"],
    )


def last_scalars(points: list[ScalarPoint]) -> list[ScalarPoint]:
    """The point with the highest iteration of every (title, series)."""
    last: dict[tuple[str, str], ScalarPoint] = {}
    for point in points:
        key = (point.title, point.series)
        if key not in last or point.iteration >= last[key].iteration:
            last[key] = point
    return list(last.values())


def run_page(store: TaskStore, cache: RunCache, run_id: str, options: GraphOptions) -> RunPage:
    """The run page: header, DAG, run info, the new-run form."""
    cursor = store.last_event_id()  # before reading: changes after it reach the page live
    now = time.time()
    detail = cache.detail(run_id, now)
    times = task_times(detail.steps, cache.tasks(detail.record))
    return RunPage(
        detail=detail,
        graph=build_graph(detail.steps, options, times),
        info=run_info(store, detail.record),
        form=form_params(store, run_id),
        queues=queue_names(store),
        cursor=cursor,
        server_now=now,
        actions=run_actions(detail.summary.status),
    )


def graph_data(cache: RunCache, run_id: str, options: GraphOptions) -> dict[str, Any]:
    """Only the drawable graph (after the viewer collapsed or expanded something)."""
    detail = cache.detail(run_id)
    return build_graph(detail.steps, options, task_times(detail.steps, cache.tasks(detail.record)))


def task_times(
    steps: Sequence[StepView], tasks: Iterable[TaskRecord]
) -> dict[str, tuple[float | None, float | None]]:
    """When each step's current task started and completed (by step name), for steps whose task
    is among ``tasks`` (a run's children). Cached steps reuse another run's task: left out."""
    by_id = {t.id: t for t in tasks}
    times: dict[str, tuple[float | None, float | None]] = {}
    for step in steps:
        task = by_id.get(step.task_id or "")
        if task is not None and step.status != "cached":
            times[step.name] = (task.started, task.completed)
    return times


def timeline(store: TaskStore, cache: RunCache, run_id: str) -> dict[str, Any]:
    """Rows of the Gantt view: per step, when it was launched (queued), and when its task started
    and ended (the task's own record; the controller's times when there is no task record)."""
    run = get_run(store, run_id)
    nodes = cache.nodes(run)
    now = time.time()
    steps = [step_view(name, node, now) for name, node in nodes]
    times = task_times(steps, cache.tasks(run))
    rows = []
    for view in steps:
        task_started, task_ended = times.get(view.name, (None, None))
        queued = view.started
        started = task_started if task_started is not None else view.started
        ended = task_ended if task_ended is not None else view.ended
        if queued is None and started is None:
            continue
        rows.append(
            {
                "name": view.name,
                "status": view.status,
                "queued": queued if queued is not None else started,
                "started": started,
                "ended": ended,
                "task": view.task_id,
            }
        )
    rows.sort(key=lambda r: (r["queued"] or 0.0, r["name"]))
    return {
        "rows": rows,
        "run_started": run.started,
        "run_ended": run.completed,
        "now": now,
        "total": len(nodes),
    }


@dataclass
class QueueRow:
    """A queue, the first tasks waiting in it, and the agents serving it."""

    record: QueueRecord
    waiting: list[tuple[QueueEntry, TaskRecord | None]]
    agents: list[str]


@dataclass
class AgentRow:
    """An agent, what it runs now, and whether it still sends heartbeats."""

    record: WorkerRecord
    task: TaskRecord | None
    alive: bool


@dataclass
class QueuesPage:
    """The queues and agents page."""

    queues: list[QueueRow]
    agents: list[AgentRow]


def _task_or_none(store: TaskStore, task_id: str | None) -> TaskRecord | None:
    if not task_id:
        return None
    try:
        return store.get_task(task_id)
    except NotFoundError:
        return None


def queues_page(store: TaskStore, now: float | None = None) -> QueuesPage:
    """Every queue with its depth, waiting tasks and agents; every agent with its current task."""
    now = time.time() if now is None else now
    workers = store.list_workers()
    rows = []
    for queue in store.list_queues():
        entries = store.queue_entries(queue.name)[:QUEUE_PREVIEW]
        waiting = [(e, _task_or_none(store, e.task_id)) for e in entries]
        serving = [w.id for w in workers if queue.name in w.queues]
        rows.append(QueueRow(queue, waiting, serving))
    agents = [
        AgentRow(w, _task_or_none(store, w.task_id), now - w.last_seen <= AGENT_LOST_AFTER) for w in workers
    ]
    return QueuesPage(rows, agents)
