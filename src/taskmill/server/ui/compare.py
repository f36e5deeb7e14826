"""What the compare page shows: any number of runs side by side (parameters, steps, metrics).

Runs are labelled A, B, C ... in the order asked. Per step: status, duration, cache key, code
hash, parameters and outputs of each run, and which of those differ between the runs (a value
differs when not every run that has the step agrees). Metrics: the scalars of each run's
controller task and of its steps' tasks, keyed by ``(step, title, series)`` (step "" for the
run itself); each key gets the last value per run in a table and one chart with one line per
run, a run keeping its palette colour in every chart.

Read-only; each run's nodes come from the :class:`RunCache`, the rest is one store read per
task. Parameters, outputs and metrics of steps are read only for runs of at most
:data:`~taskmill.server.ui.details.COMPARE_DETAIL_LIMIT` steps.
"""

from __future__ import annotations

import difflib
import string
from dataclasses import dataclass
from urllib.parse import urlencode

from taskmill.core.model import ScalarPoint
from taskmill.errors import NotFoundError
from taskmill.runs.views import NodeData, RunDetail, StepView
from taskmill.server.ui.charts import Chart, ScalarLine, scalar_chart
from taskmill.server.ui.details import COMPARE_DETAIL_LIMIT, Side
from taskmill.server.ui.runcache import RunCache
from taskmill.server.ui.templating import NONE, value_text
from taskmill.store.base import TaskStore

#: Runs compared at most on one page.
MAX_RUNS = 26
#: What a step's sides are compared on.
ASPECTS = ("status", "params", "code", "cache", "outputs")


@dataclass
class CompareRow:
    """A step of any of the runs: each run's side (None when the run has no such step), which
    aspects differ, code diffs against the first run with the step (``(runs, lines)``), and the
    labels of the runs with and without the step."""

    name: str
    sides: list[Side | None]
    differs: list[str]
    code_diffs: list[tuple[str, list[str]]]
    present: list[str]
    absent: list[str]


@dataclass
class MetricRow:
    """The last reported value of one metric in each run (None: not reported there)."""

    step: str
    title: str
    series: str
    values: list[float | None]

    @property
    def differs(self) -> bool:
        """Not every run reported the same last value."""
        return len(set(self.values)) > 1


@dataclass
class ComparePage:
    """Runs side by side; ``labels`` are A, B, C ... in the order of ``runs``."""

    runs: list[RunDetail]
    labels: list[str]
    params: list[tuple[str, list[str], bool]]  #: name, value per run, differs
    rows: list[CompareRow]
    detailed: bool
    metrics: list[MetricRow]
    charts: list[Chart]

    def query(self, order: list[int]) -> str:
        """The compare page's query string for the runs at ``order`` (indices into ``runs``)."""
        return urlencode([("run", self.runs[i].summary.id) for i in order])

    def query_without(self, index: int) -> str:
        """The query string of this comparison without run ``index``."""
        return self.query([i for i in range(len(self.runs)) if i != index])


def label(index: int) -> str:
    """``A`` ... ``Z`` for the first 26 runs, then ``R27``, ``R28`` ..."""
    return string.ascii_uppercase[index] if index < 26 else f"R{index + 1}"


def _side(store: TaskStore, view: StepView, node: NodeData, detailed: bool) -> Side:
    side = Side(view, node)
    if detailed and view.task_id:
        try:
            task = store.get_task(view.task_id)
        except NotFoundError:
            return side
        side.params = {p.key: value_text(p.value) for p in store.get_params(task.id)}
        side.outputs = {a.name: (a.hash, a.preview) for a in store.get_artifacts(task.id)}
        side.code = task.script.diff
    return side


def _differs(sides: list[Side]) -> list[str]:
    """The aspects on which the present sides do not all agree."""

    def key(side: Side, aspect: str) -> object:
        if aspect == "status":
            return side.view.status
        if aspect == "params":
            return tuple(sorted(side.params.items()))
        if aspect == "code":
            return (side.code_hash, side.code)
        if aspect == "cache":
            return side.cache_key
        return tuple(sorted((k, v[0]) for k, v in side.outputs.items()))

    return [a for a in ASPECTS if len({key(s, a) for s in sides}) > 1]


def _row(name: str, sides: list[Side | None], labels: list[str], names: list[str]) -> CompareRow:
    present = [(i, s) for i, s in enumerate(sides) if s is not None]
    differs = _differs([s for _, s in present]) if len(present) > 1 else []
    diffs: list[tuple[str, list[str]]] = []
    if "code" in differs:
        first_index, first = present[0]
        for index, side in present[1:]:
            if side.code != first.code:
                lines = difflib.unified_diff(
                    first.code.splitlines(),
                    side.code.splitlines(),
                    f"{labels[first_index]} {names[first_index]}",
                    f"{labels[index]} {names[index]}",
                    lineterm="",
                )
                diffs.append((f"{labels[first_index]} → {labels[index]}", list(lines)))
    present_labels = [labels[i] for i, _ in present]
    absent = [labels[i] for i, side in enumerate(sides) if side is None]
    return CompareRow(name, sides, differs, diffs, present_labels, absent)


Metrics = dict[tuple[str, str, str], list[ScalarPoint]]


def _scalars(store: TaskStore, run: RunDetail, detailed: bool) -> Metrics:
    """The run's metrics by ``(step, title, series)``."""
    found: Metrics = {}
    tasks = [("", run.record.id)]
    if detailed:
        tasks += [(s.name, s.task_id) for s in run.steps if s.task_id]
    for step, task_id in tasks:
        for point in store.get_scalars(task_id):
            found.setdefault((step, point.title, point.series), []).append(point)
    return found


def _last(points: list[ScalarPoint]) -> float | None:
    return max(points, key=lambda p: (p.iteration, p.timestamp)).value if points else None


def _metrics(
    runs: list[RunDetail], labels: list[str], scalars: list[Metrics]
) -> tuple[list[MetricRow], list[Chart]]:
    keys = sorted({k for found in scalars for k in found})
    rows: list[MetricRow] = []
    charts: list[Chart] = []
    for step, title, series in keys:
        per_run = [found.get((step, title, series), []) for found in scalars]
        last = [_last(points) for points in per_run]
        rows.append(MetricRow(step, title, series, last))
        lines = [
            ScalarLine(f"{labels[i]} {runs[i].summary.name}", points, colour=i)
            for i, points in enumerate(per_run)
            if points
        ]
        subtitle = " · ".join(part for part in (series, f"step {step}" if step else "") if part)
        charts.append(scalar_chart(title, lines, subtitle=subtitle))
    return rows, charts


def compare_runs(store: TaskStore, cache: RunCache, run_ids: list[str]) -> ComparePage:
    """Runs ``run_ids`` (2 to :data:`MAX_RUNS`, repeats dropped) side by side.

    Raises ValueError for fewer than two or more than :data:`MAX_RUNS` distinct runs, and the
    store's NotFoundError for an unknown run."""
    ids = list(dict.fromkeys(r for r in run_ids if r))
    if len(ids) < 2:
        raise ValueError("pick two or more runs to compare (tick them in a pipeline's runs table)")
    if len(ids) > MAX_RUNS:
        raise ValueError(f"compare at most {MAX_RUNS} runs at a time ({len(ids)} were picked)")
    runs = [cache.detail(run_id) for run_id in ids]
    labels = [label(i) for i in range(len(runs))]
    names = [r.summary.name for r in runs]
    detailed = max(len(r.steps) for r in runs) <= COMPARE_DETAIL_LIMIT
    nodes = [dict(cache.nodes(r.record)) for r in runs]
    steps = [{s.name: s for s in r.steps} for r in runs]
    order = list(dict.fromkeys(name for r in runs for name in (s.name for s in r.steps)))
    rows = []
    for name in order:
        sides: list[Side | None] = [
            _side(store, steps[i][name], nodes[i][name], detailed) if name in steps[i] else None
            for i in range(len(runs))
        ]
        rows.append(_row(name, sides, labels, names))
    keys = list(dict.fromkeys(k for r in runs for k in r.params))
    params = []
    for key in keys:
        values = [value_text(r.params[key]) if key in r.params else NONE for r in runs]
        params.append((key, values, len(set(values)) > 1))
    metrics, charts = _metrics(runs, labels, [_scalars(store, r, detailed) for r in runs])
    return ComparePage(runs, labels, params, rows, detailed, metrics, charts)
