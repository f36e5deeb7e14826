"""What the step panel, the task page and the compare page show, gathered from the store.

Plain data for templates (no HTML here). Logs are shown from their tail (:data:`LOG_TAIL` lines);
pages that follow a running task stream the lines after that.

A step's console starts with *system lines* (:func:`system_lines`), as ClearML's header lines:
where the task ran, the inputs it loaded, the outputs it stored and how it ended. They are
derived from what the store already records (the task record, its parameters and artifacts),
not logged: the exit code of a step's process is not recorded anywhere, so it is not shown.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote

from taskmill.core.model import (
    ArtifactRecord,
    ConfigObject,
    LogLine,
    ModelRecord,
    Param,
    PlotRecord,
    ScalarPoint,
    TaskRecord,
)
from taskmill.core.states import TaskStatus
from taskmill.core.stored import DEFAULT_QUEUE, KWARGS_ARTIFACTS, SERVICES_QUEUE
from taskmill.errors import NotFoundError
from taskmill.runs import commands
from taskmill.runs.records import get_run
from taskmill.runs.views import Attempt, NodeData, StepView, step_attempts, step_tasks, step_view
from taskmill.server.ui.charts import Chart, Heatmap, charts_of, heatmap_table, plotly_chart
from taskmill.server.ui.packed import unpack
from taskmill.server.ui.runcache import RunCache
from taskmill.server.ui.templating import duration, filesize
from taskmill.server.ui.views import FormParam, draft_fields, last_scalars
from taskmill.store.base import TaskFilter, TaskStore
from taskmill.types import JSONValue

#: Console lines shown at first (the newest ones); the task page can show everything.
LOG_TAIL = 1000
#: Steps compared in detail (parameters, outputs) on the compare page; the rest only by status.
COMPARE_DETAIL_LIMIT = 400


@dataclass
class LogTail:
    """The newest console lines, how many there are in all, and the seq to follow from."""

    lines: list[LogLine]
    total: int
    after: int


@dataclass
class StepPanel:
    """The step info panel of the run page."""

    run: TaskRecord
    view: StepView
    node: NodeData
    task: TaskRecord | None
    explanation: dict[str, JSONValue]
    params: list[Param]
    artifacts: list[ArtifactRecord]
    models: list[ModelRecord]
    metrics: list[ScalarPoint]
    log: LogTail
    code: str
    attempts: list[Attempt] = field(default_factory=list)  #: every task that ran the step, oldest first
    system: list[str] = field(default_factory=list)  #: system lines before the console's own
    system_end: list[str] = field(default_factory=list)  #: system lines after them (outputs, exit)
    media: list[PlotView] = field(default_factory=list)  #: as :attr:`TaskPage.media`

    @property
    def current(self) -> Attempt | None:
        """The attempt the step shows now (its current task), if it has one."""
        return next((a for a in self.attempts if a.current), None)

    @property
    def waited(self) -> float | None:
        """Seconds from the step's launch until its task started (None until it started): the
        same figure as the DAG node and the timeline."""
        current = self.current
        if current is None or current.started is None:
            return None
        launched = self.view.started if self.view.started is not None else current.created
        return max(0.0, current.started - launched)

    @property
    def ran(self) -> float | None:
        """Seconds the step's task ran (so far, while it runs); None before it started."""
        current = self.current
        if current is None or current.started is None:
            return self.view.duration if current is None else None
        end = (
            current.ended if current.ended is not None else (None if current.status.is_final else time.time())
        )
        return None if end is None else max(0.0, end - current.started)


@dataclass
class DraftForm:
    """The task page's form for a draft: its parameters as fields, the arguments bound to parent
    outputs (read-only), the queues and the one chosen at first."""

    fields: list[FormParam]
    linked: list[Param]
    queues: list[str]
    queue: str


@dataclass
class TaskPage:
    """The task page: everything recorded on one task."""

    record: TaskRecord
    parent: TaskRecord | None
    is_run: bool
    sections: dict[str, list[Param]]
    configs: list[ConfigObject]
    artifacts: list[ArtifactRecord]
    models: list[ModelRecord]
    charts: list[Chart]
    plots: list[PlotView]
    log: LogTail
    children: list[TaskRecord]
    draft: DraftForm | None = None  #: the edit-and-enqueue form, while the task is a draft
    #: Debug images and media (``report_image``, ``report_matplotlib_figure``, ``report_media``):
    #: the media tab; their backing artifacts are left out of :attr:`artifacts`.
    media: list[PlotView] = field(default_factory=list)


def draft_form(store: TaskStore, record: TaskRecord, params: list[Param], is_run: bool) -> DraftForm | None:
    """The edit-and-enqueue form of ``record``; None unless it is a draft. The queue chosen at
    first is the task's own, else the one draft steps are released to (``services`` for a
    pipeline run), when it exists."""
    if record.status != TaskStatus.created:
        return None
    queues = sorted(q.name for q in store.list_queues())
    usual = SERVICES_QUEUE if is_run else DEFAULT_QUEUE
    chosen = next((q for q in (record.queue, usual) if q and q in queues), "")
    linked = [p for p in params if p.section == KWARGS_ARTIFACTS and p.value]
    return DraftForm(draft_fields(params), linked, queues, chosen)


def log_tail(store: TaskStore, task_id: str, limit: int = LOG_TAIL) -> LogTail:
    """The last ``limit`` console lines of a task (all of them with ``limit`` 0). Only those
    lines are read; lines are numbered from 1, so the last one's ``seq`` is the log's length."""
    shown = store.get_log(task_id, tail=limit or None)
    after = shown[-1].seq if shown else 0
    return LogTail(shown, after, after)


def step_panel(store: TaskStore, cache: RunCache, run_id: str, name: str) -> StepPanel:
    """Everything about one step of a run. Raises NotFoundError for an unknown step."""
    run = get_run(store, run_id)
    node = next((data for step, data in cache.nodes(run) if step == name), None)
    if node is None:
        raise NotFoundError(f"run {run.name} has no step named '{name}'")
    view = step_view(name, node, time.time())
    explanation = commands.explain_node(store, run, view, node)
    by_step = step_tasks(cache.tasks(run))
    others = tuple(a for a in view.attempts if a not in {t.id for t in by_step.get(name, [])})
    known = {t.id: t for t in store.find_tasks(TaskFilter(ids=others))} if others else {}
    attempts = step_attempts(view, by_step.get(name, []), known)
    task = None
    if view.task_id:
        try:
            task = store.get_task(view.task_id)
        except NotFoundError:
            task = None
    if task is None:
        raw = node.get("parameters")
        params = [Param("step", str(k), v) for k, v in raw.items()] if isinstance(raw, dict) else []
        return StepPanel(
            run, view, node, None, explanation, params, [], [], [], LogTail([], 0, 0), "", attempts
        )
    params = store.get_params(task.id)
    artifacts = store.get_artifacts(task.id)
    media = [v for v in plot_views(task.id, store.get_plots(task.id)) if v.kind in MEDIA_KINDS]
    backing = {v.artifact for v in media if v.artifact}
    steps_of = {t.id: step for step, tasks in by_step.items() for t in tasks}
    return StepPanel(
        run,
        view,
        node,
        task,
        explanation,
        params,
        [a for a in artifacts if a.name not in backing],
        store.get_models(task.id),
        last_scalars(store.get_scalars(task.id)),
        log_tail(store, task.id, 400),
        task.script.diff if view.kind == "function" else "",
        attempts,
        *system_lines(task, params, artifacts, steps_of, view.started),
        media=media,
    )


def _clock(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def system_lines(
    task: TaskRecord,
    params: list[Param],
    artifacts: list[ArtifactRecord],
    steps_of: dict[str, str],
    launched: float | None,
) -> tuple[list[str], list[str]]:
    """The console's system lines for a step's ``task``, as (before, after) its own lines:
    where and when it ran and the parent outputs it loaded (``kwargs_artifacts`` parameters,
    ``TASK.ARTIFACT``; ``steps_of`` names the step of a task id); then the outputs it stored
    and how it ended. Pure: derived from records."""
    lines: list[str] = []
    end: list[str] = []
    lease = task.runtime.get("_lease")
    where = task.worker or "an unknown worker"
    if isinstance(lease, dict) and lease.get("host"):
        where += f" (host {lease.get('host')}, pid {lease.get('pid')})"
    if task.started is not None:
        waited = f", {duration(max(0.0, task.started - launched))} after launch" if launched else ""
        lines.append(f"[system] started {_clock(task.started)} on {where}{waited}")
    elif not task.status.is_final:
        lines.append(f"[system] {task.status.label.lower()}, not started yet")
    for param in params:
        if param.section == KWARGS_ARTIFACTS and isinstance(param.value, str) and "." in param.value:
            source, _, output = param.value.partition(".")
            origin = steps_of.get(source, f"task {source[:8]}")
            lines.append(f"[system] input {param.name} loaded from output {output} of {origin}")
    for art in artifacts if task.status.is_final else ():  # after the lines a live console appends
        if art.mode == "output":
            end.append(f"[system] output {art.name} stored ({art.type or 'file'}, {filesize(art.size)})")
    if task.status.is_final:
        ran = (
            f" after running {duration(max(0.0, task.completed - task.started))}"
            if task.started is not None and task.completed is not None
            else ""
        )
        reason = f": {task.status_reason}" if task.status_reason else ""
        end.append(f"[system] ended {task.status.label.lower()}{ran}{reason}")
    return lines, end


def task_page(store: TaskStore, task_id: str, *, full_log: bool = False) -> TaskPage:
    """Everything recorded on a task."""
    record = store.get_task(task_id)
    parent = None
    if record.parent:
        try:
            parent = store.get_task(record.parent)
        except NotFoundError:
            parent = None
    params = store.get_params(task_id)
    sections: dict[str, list[Param]] = {}
    for param in params:
        sections.setdefault(param.section, []).append(param)
    is_run = "pipeline" in record.system_tags
    children = store.find_tasks(TaskFilter(parent=task_id, limit=200, order="created")) if not is_run else []
    plots = plot_views(task_id, store.get_plots(task_id))
    media = [p for p in plots if p.kind in MEDIA_KINDS]
    backing = {p.artifact for p in media if p.artifact}
    return TaskPage(
        record=record,
        parent=parent,
        is_run=is_run,
        sections=sections,
        configs=store.get_configs(task_id),
        artifacts=[a for a in store.get_artifacts(task_id) if a.name not in backing],
        models=store.get_models(task_id),
        charts=charts_of(store.get_scalars(task_id)),
        plots=plots,
        log=log_tail(store, task_id, 0 if full_log else LOG_TAIL),
        children=children,
        draft=draft_form(store, record, params, is_run),
        media=media,
    )


# -- compare --------------------------------------------------------------------------------------


@dataclass
class Side:
    """One run's side of a compared step."""

    view: StepView
    node: NodeData
    params: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, tuple[str, str]] = field(default_factory=dict)  #: name -> (hash, preview)
    code: str = ""

    @property
    def cache_key(self) -> str:
        """The step's cache key ("" if none was computed)."""
        cache = self.node.get("cache")
        return str(cache.get("key") or "") if isinstance(cache, dict) else ""

    @property
    def code_hash(self) -> str:
        """The hash of the step's code, part of its cache key ("" if unknown)."""
        cache = self.node.get("cache")
        parts = cache.get("parts") if isinstance(cache, dict) else None
        return str(parts.get("code") or "") if isinstance(parts, dict) else ""


@dataclass
class PlotView:
    """A reported plot as the task page shows it. ``kind``: ``chart`` (SVG, in ``chart``),
    ``heatmap`` (a table of numbers), ``table``, ``image`` / ``media`` (the download route of the
    uploaded file in ``src``, or an http(s) ``link``) or ``json`` (the raw ``data``)."""

    title: str
    series: str
    iteration: int
    kind: str
    earlier: int = 0  #: earlier reports of this title and series, not shown
    chart: Chart | None = None
    heatmap: Heatmap | None = None
    table: dict[str, Any] | None = None
    src: str = ""
    link: str = ""
    artifact: str = ""  #: the artifact holding an image's or media file's bytes
    inline: str = ""  #: the media route showing those bytes in the page (images, audio, video)
    data: JSONValue = None
    figure: JSONValue = None  #: the Plotly figure (``data``, ``layout``) for Plotly.js, when it is one

    @property
    def subtitle(self) -> str:
        """``series · iteration N · K earlier not shown`` (parts that apply)."""
        parts = [self.series] if self.series else []
        parts += [f"iteration {self.iteration}"] if self.iteration else []
        parts += [f"{self.earlier} earlier not shown"] if self.earlier else []
        return " · ".join(parts)


#: Plot kinds that point at an uploaded file (or a web link) rather than carry numbers.
MEDIA_KINDS = ("image", "media")


def plot_views(task_id: str, plots: list[PlotRecord]) -> list[PlotView]:
    """The latest report of each title and series, in reporting order. Line, marker and bar
    figures of one title and iteration share one chart (as in ClearML); the rest stand alone."""
    latest: dict[tuple[str, str], PlotRecord] = {}
    counts: Counter[tuple[str, str]] = Counter()
    for plot in plots:
        key = (plot.title, plot.series)
        counts[key] += 1
        if key not in latest or plot.iteration >= latest[key].iteration:
            latest[key] = plot
    # decoded once here, for the shown reports only: Plotly >= 6 packs numpy arrays
    latest = {k: replace(p, data=unpack(p.data)) if p.kind == "plotly" else p for k, p in latest.items()}
    shared = _shared_charts(list(latest.values()), counts)
    views: list[PlotView] = []
    for plot in latest.values():
        where = (plot.title, plot.iteration)
        if plot.kind != "plotly" or where not in shared:
            views.append(_plot_view(task_id, plot, counts[(plot.title, plot.series)] - 1))
        elif not any(view is shared[where] for view in views):
            views.append(shared[where])
    return views


def _shared_charts(
    plots: list[PlotRecord], counts: Counter[tuple[str, str]]
) -> dict[tuple[str, int], PlotView]:
    """``(title, iteration) -> chart`` for titles whose figures at one iteration are several
    series that fit one chart together."""
    groups: dict[tuple[str, int], list[PlotRecord]] = {}
    for plot in plots:
        if plot.kind == "plotly" and isinstance(plot.data, dict):
            groups.setdefault((plot.title, plot.iteration), []).append(plot)
    shared: dict[tuple[str, int], PlotView] = {}
    for (title, iteration), group in groups.items():
        if len(group) > 1:
            traces = [t for p in group for t in _traces(p)]
            layout = group[0].data.get("layout") if isinstance(group[0].data, dict) else None
            earlier = max(counts[(p.title, p.series)] for p in group) - 1
            view = PlotView(title, "", iteration, "chart", earlier)
            view.figure = {"data": traces, "layout": layout or {}}
            view.chart = plotly_chart(title, view.subtitle, view.figure)
            if view.chart is not None:
                shared[(title, iteration)] = view
    return shared


def _traces(plot: PlotRecord) -> list[JSONValue]:
    """The traces of a Plotly figure; a trace without a name is named after the plot's series."""
    data = plot.data.get("data") if isinstance(plot.data, dict) else None
    traces = data if isinstance(data, list) else []
    return [{**t, "name": plot.series} if isinstance(t, dict) and not t.get("name") else t for t in traces]


def _plot_view(task_id: str, plot: PlotRecord, earlier: int) -> PlotView:
    view = PlotView(plot.title, plot.series, plot.iteration, "json", earlier, data=plot.data)
    data = plot.data
    if plot.kind == "table":
        view.table = plot_table(plot)
        view.kind = "table" if view.table is not None else "json"
    elif plot.kind == "plotly":
        layout = data.get("layout") if isinstance(data, dict) else None
        view.figure = {"data": _traces(plot), "layout": layout or {}}
        view.chart = plotly_chart(plot.title, view.subtitle, view.figure)
        view.heatmap = None if view.chart else heatmap_table(data)
        view.kind = "chart" if view.chart else "heatmap" if view.heatmap else "json"
    elif plot.kind in ("image", "media") and isinstance(data, dict):
        artifact, url = str(data.get("artifact") or ""), str(data.get("url") or "")
        if artifact:
            view.artifact = artifact
            view.src = f"/tasks/{quote(task_id, safe='')}/artifacts/{quote(artifact, safe='/')}"
            view.inline = f"/tasks/{quote(task_id, safe='')}/media/{quote(artifact, safe='/')}"
        if url.startswith(("http://", "https://")):
            view.link = url  # other schemes (javascript:, data:) stay text in the JSON view
        if view.src or view.link:
            view.kind = plot.kind
    return view


def plot_table(plot: PlotRecord) -> dict[str, Any] | None:
    """``{"columns", "rows"}`` of a table plot, or None for other kinds."""
    data = plot.data
    if plot.kind == "table" and isinstance(data, dict):
        columns, rows = data.get("columns"), data.get("rows")
        if isinstance(columns, list) and isinstance(rows, list):
            return {"columns": [str(c) for c in columns], "rows": [r for r in rows if isinstance(r, list)]}
    return None
