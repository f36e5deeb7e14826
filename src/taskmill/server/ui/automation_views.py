"""What the automation pages show: schedules, triggers and optimizations, read from the store.

Everything comes from :mod:`taskmill.runs.automation`, the read model ``taskmill schedules``,
``taskmill triggers`` and ``taskmill hpo`` print, so the browser and the terminal agree. Functions
here are blocking store reads returning plain data for the templates; nothing here writes.

A service's entries carry their definitions (the schedule, what a trigger watches) only once the
service has been started (it writes them then); events are what the service recorded: a tick or
a matched object that *fired* (launched a task or a function) or was *skipped*, with the reason.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from taskmill.core.model import TaskRecord
from taskmill.errors import NotFoundError
from taskmill.runs.automation import (
    EntryView,
    EventView,
    OptimizationView,
    ServiceKind,
    ServiceView,
    TrialView,
    find_optimizations,
    find_services,
    optimization_view,
    service_definitions,
    service_view,
)
from taskmill.server.ui.charts import Chart, Line, Series, bar_chart, line_chart
from taskmill.server.ui.templating import NONE, value_text
from taskmill.store.base import TaskStore

#: Events shown per service on the service page (the service keeps up to 200).
EVENTS_SHOWN = 100
#: Events shown per service on the overview.
RECENT_SHOWN = 3
#: Distinct values of a parameter drawn as bars at most (more: the chart is left out).
MAX_CATEGORIES = 40


def until(ts: float | None, now: float | None = None) -> str:
    """``in 42 s``, ``in 3 min``, ``in 5 h``, ``in 2 days``; ``due now`` when past; the en dash
    when there is no next time (a finished one-off schedule, a trigger)."""
    if ts is None:
        return NONE
    seconds = ts - (time.time() if now is None else now)
    if seconds < 1:
        return "due now"
    for limit, unit, size in ((60, "s", 1), (3600, "min", 60), (86400, "h", 3600)):
        if seconds < limit:
            return f"in {int(seconds // size)} {unit}"
    days = int(seconds // 86400)
    return f"in {days} day{'s' if days != 1 else ''}"


def describe(kind: ServiceKind, definition: dict[str, Any]) -> str:
    """One line saying when an entry fires: the schedule's own wording, or what a trigger
    watches ("" when the service never wrote its definition)."""
    if not definition:
        return ""
    if kind == "scheduler":
        text = str(definition.get("schedule") or definition.get("cron") or "")
        zone = str(definition.get("timezone") or "")
        return f"{text} ({zone})" if zone and zone not in text else text
    what = str(definition.get("kind") or "object")
    parts = [f"{what}s in project '{definition['project']}'" if definition.get("project") else f"any {what}"]
    if definition.get("match_name"):
        parts.append(f"name matching /{definition['match_name']}/")
    if definition.get("on_status"):
        parts.append("status " + " or ".join(map(str, definition["on_status"])))
    if definition.get("metrics"):
        sign = str(definition.get("value_sign") or "max")
        op = "<=" if sign.startswith("min") else ">="
        metric = f"{definition['metrics']}/{definition.get('variant') or ''}"
        parts.append(f"{metric} {op} {definition.get('threshold')}")
    if definition.get("tags"):
        parts.append("tagged any of " + ", ".join(map(str, definition["tags"])))
    if definition.get("required_tags"):
        parts.append("tagged all of " + ", ".join(map(str, definition["required_tags"])))
    if definition.get("on_publish"):
        parts.append("when published")
    if definition.get("on_archive"):
        parts.append("when archived")
    return "; ".join(parts)


def target_text(definition: dict[str, Any]) -> str:
    """What an entry launches: ``task 1a2b3c4d on queue 'q'`` or ``function mod.fn``."""
    if definition.get("base_function"):
        return f"function {definition['base_function']}"
    if definition.get("base_task_id"):
        queue = f" on queue '{definition['queue']}'" if definition.get("queue") else ""
        return f"clone of task {str(definition['base_task_id'])[:8]}{queue}"
    return ""


@dataclass(frozen=True)
class ServiceRow:
    """A scheduler or trigger service on the overview."""

    view: ServiceView
    running: bool
    next_run: float | None
    next_text: str
    fired: int
    skipped: int
    recent: list[EventView]  #: newest first


@dataclass(frozen=True)
class OptimizationRow:
    """An optimization on the overview: status, trials and the best one."""

    task: TaskRecord
    objective: str
    trials: int
    scored: int
    best: TrialView | None


@dataclass
class AutomationPage:
    """The overview: every scheduler, trigger service and optimization."""

    schedulers: list[ServiceRow]
    triggers: list[ServiceRow]
    optimizations: list[OptimizationRow]


def _counts(events: Sequence[EventView]) -> tuple[int, int]:
    fired = sum(1 for e in events if e.action == "fired")
    return fired, sum(1 for e in events if e.action == "skipped")


def service_row(view: ServiceView, now: float) -> ServiceRow:
    """``view`` summed up for the overview."""
    fired, skipped = _counts(view.events)
    return ServiceRow(
        view,
        view.running(now),
        view.next_run,
        until(view.next_run, now),
        fired,
        skipped,
        list(reversed(view.events[-RECENT_SHOWN:])),
    )


def objective_text(view: OptimizationView) -> str:
    """``loss/val (min)``."""
    return f"{view.title}/{view.series} ({view.sign})" if view.title else NONE


def automation_page(store: TaskStore, now: float | None = None) -> AutomationPage:
    """The overview. Blocking: reads every service task and every trial of every optimization."""
    now = time.time() if now is None else now
    rows: dict[ServiceKind, list[ServiceRow]] = {}
    for kind in ("scheduler", "trigger"):
        rows[kind] = [service_row(service_view(t, kind), now) for t in find_services(store, kind)]
    optimizations = []
    for task in find_optimizations(store):
        view = optimization_view(store, task)
        scored = sum(1 for t in view.trials if t.objective is not None)
        optimizations.append(OptimizationRow(task, objective_text(view), len(view.trials), scored, view.best))
    return AutomationPage(rows["scheduler"], rows["trigger"], optimizations)


@dataclass(frozen=True)
class EntryRow:
    """One schedule entry or trigger on its service's page."""

    entry: EntryView
    when: str  #: :func:`describe`
    target: str  #: :func:`target_text`
    next_text: str
    skipped: int
    last_skip: EventView | None
    definition: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EventRow:
    """An event, with the name of the object it was for (triggers) when that is a task."""

    event: EventView
    object_name: str
    object_link: str  #: the object's page ("" when none: a tick, a model, a deleted task)


@dataclass
class ServicePage:
    """A scheduler or trigger service: its entries and its recent events, newest first."""

    view: ServiceView
    running: bool
    entries: list[EntryRow]
    events: list[EventRow]
    fired: int
    skipped: int
    total_events: int


def _task_name(store: TaskStore, task_id: str, names: dict[str, TaskRecord | None]) -> TaskRecord | None:
    if task_id not in names:
        try:
            names[task_id] = store.get_task(task_id)
        except (NotFoundError, ValueError):
            names[task_id] = None
    return names[task_id]


def service_page(store: TaskStore, task_id: str, kind: ServiceKind, now: float | None = None) -> ServicePage:
    """A service's page. Raises NotFoundError for an unknown id and SpecError when the task is
    not a ``kind`` service. Blocking: a few reads, plus one per distinct object of the events
    shown (triggers)."""
    now = time.time() if now is None else now
    view = service_view(store.get_task(task_id), kind)
    definitions = service_definitions(store, view.task, kind)
    entries = []
    for entry in view.entries:
        mine = [e for e in view.events if e.entry == entry.name]
        skips = [e for e in mine if e.action == "skipped"]
        definition = definitions.get(entry.name, {})
        entries.append(
            EntryRow(
                entry,
                describe(kind, definition),
                target_text(definition),
                until(entry.next_run, now),
                len(skips),
                skips[-1] if skips else None,
                definition,
            )
        )
    known: dict[str, TaskRecord | None] = {}
    rows = []
    for event in reversed(view.events[-EVENTS_SHOWN:]):
        name, link = "", ""
        kind_of = str(definitions.get(event.entry, {}).get("kind") or "")
        if kind == "trigger" and event.key and kind_of != "model":
            record = _task_name(store, event.key, known)
            if record is not None:
                name, link = record.name, f"/tasks/{record.id}"
        rows.append(EventRow(event, name, link))
    fired, skipped = _counts(view.events)
    return ServicePage(view, view.running(now), entries, rows, fired, skipped, len(view.events))


@dataclass
class OptimizationPage:
    """An optimization: its setup, the trials table (best first) and the charts."""

    view: OptimizationView
    objective: str
    setup: list[tuple[str, str]]
    charts: list[Chart]
    statuses: dict[str, int]
    scored: int


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _no_last(chart: Chart, *names: str) -> Chart:
    """``chart`` without the legend's last value of the ``names`` series (a scatter's last point
    is just the trial drawn last, which says nothing)."""
    series: list[Series] = [replace(s, last=None) if s.name in names else s for s in chart.series]
    return replace(chart, series=series)


def parameter_chart(view: OptimizationView, name: str) -> Chart | None:
    """The objective against parameter ``name`` over the scored trials: a scatter of every trial
    (the best one drawn again on top) when every value is a number, else the best objective per
    value as bars. None when no trial is scored yet (or too many distinct values to draw)."""
    scored = [(t.parameters.get(name), t.objective) for t in view.trials if t.objective is not None]
    if not scored:
        return None
    y_title = f"{view.title}/{view.series}"
    numbers = [(_number(x), y) for x, y in scored]
    if all(x is not None for x, _ in numbers):
        points = sorted((float(x), float(y)) for x, y in numbers if x is not None and y is not None)
        lines = [Line("trials", points, mode="markers")]
        best = view.best
        best_x = _number(best.parameters.get(name)) if best is not None else None
        if best is not None and best_x is not None and best.objective is not None:
            lines.append(Line("best", [(best_x, best.objective)], mode="markers"))
        made = line_chart(
            f"{view.title} vs {name}",
            lines,
            subtitle=f"{len(points)} trial{'s' if len(points) != 1 else ''}",
            x_title=name,
            y_title=y_title,
        )
        return _no_last(made, "trials")
    pick = max if view.sign.startswith("max") else min
    best_of: dict[str, float] = {}
    for x, y in scored:
        if y is None:
            continue
        key = value_text(x) if x is not None else NONE
        best_of[key] = pick(best_of[key], y) if key in best_of else y
    if len(best_of) > MAX_CATEGORIES:
        return None
    categories = list(best_of)
    return bar_chart(
        f"{view.title} vs {name}",
        categories,
        [(f"best {y_title}", [best_of[c] for c in categories])],
        subtitle="best trial per value",
        x_title=name,
        y_title=y_title,
    )


def progress_chart(view: OptimizationView) -> Chart | None:
    """The objective of each trial in the order they were created, and the best so far."""
    ordered = sorted((t for t in view.trials if t.objective is not None), key=lambda t: t.task.created)
    if not ordered:
        return None
    pick = max if view.sign.startswith("max") else min
    points, best, so_far = [], [], None
    for number, trial in enumerate(ordered, start=1):
        value = float(trial.objective or 0.0)
        so_far = value if so_far is None else pick(so_far, value)
        points.append((float(number), value))
        best.append((float(number), so_far))
    made = line_chart(
        f"{view.title} by trial",
        [Line("trial", points, mode="markers"), Line("best so far", best)],
        x_title="trial (in creation order)",
        y_title=f"{view.title}/{view.series}",
        integer_x=True,
    )
    return _no_last(made, "trial")


def optimization_page(store: TaskStore, task_id: str) -> OptimizationPage:
    """An optimization's page. Raises NotFoundError for an unknown id and SpecError when the
    task is not an optimization. Blocking: a few reads per trial."""
    view = optimization_view(store, store.get_task(task_id))
    setup = [
        (p.name, value_text(p.value))
        for p in store.get_params(view.task.id)
        if p.section == "opt" and p.value not in ("", None, [])
    ]
    charts = [c for c in (parameter_chart(view, n) for n in view.parameter_names) if c is not None]
    progress = progress_chart(view)
    if progress is not None:
        charts.append(progress)
    statuses: dict[str, int] = {}
    for trial in view.trials:
        statuses[trial.task.status.label] = statuses.get(trial.task.status.label, 0) + 1
    scored = sum(1 for t in view.trials if t.objective is not None)
    return OptimizationPage(view, objective_text(view), setup, charts, statuses, scored)
