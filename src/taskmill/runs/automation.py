"""The read model of schedules, triggers and optimizations, for the CLI (read-only).

Schedulers and triggers keep their state in their service task's runtime property
:data:`~taskmill.core.stored.AUTOMATION_STATE` (see :mod:`taskmill.automation.service`): per
entry the next tick, what fired and which task it launched, plus the recent events (fired or
skipped, and why) and the lease of the process running the service. An optimization is a task
tagged :data:`~taskmill.core.stored.OPTIMIZATION_TAG`; its trials are tagged ``opt: <its id>``
and its objective is in its ``opt/objective_metric_*`` parameters. Nothing here writes.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Literal

from taskmill.core.model import TaskRecord
from taskmill.core.states import TaskTypes
from taskmill.core.stored import AUTOMATION_STATE, OPTIMIZATION_TAG, SCHEDULER_TAG, TRIGGER_TAG
from taskmill.errors import SpecError
from taskmill.store.base import TaskFilter, TaskStore
from taskmill.types import JSONValue

ServiceKind = Literal["scheduler", "trigger"]
_TAGS: dict[str, str] = {"scheduler": SCHEDULER_TAG, "trigger": TRIGGER_TAG}


@dataclass(frozen=True)
class EntryView:
    """One schedule entry or trigger, as its service last recorded it."""

    name: str
    next_run: float | None  #: next tick (schedules; None for triggers and finished entries)
    fired: int  #: how many times it launched something
    last_fired: float | None
    last_task_id: str


@dataclass(frozen=True)
class EventView:
    """A fire or a skip, with its reason."""

    time: float
    entry: str
    action: str  #: ``fired`` or ``skipped``
    reason: str
    task_id: str
    key: str  #: the tick (schedules) or the triggering object's id (triggers)


@dataclass(frozen=True)
class ServiceView:
    """A scheduler's or trigger's service task with its stored state."""

    task: TaskRecord
    kind: ServiceKind
    entries: list[EntryView]
    events: list[EventView]
    lease_owner: str = ""  #: ``host:pid`` of the process running it, "" when none holds the lease
    lease_until: float | None = None

    def running(self, now: float | None = None) -> bool:
        """Whether a process held the lease at ``now`` (it renews it while it runs)."""
        now = time.time() if now is None else now
        return bool(self.lease_owner) and (self.lease_until or 0) > now

    @property
    def next_run(self) -> float | None:
        """The earliest next tick over the entries."""
        ticks = [e.next_run for e in self.entries if e.next_run is not None]
        return min(ticks) if ticks else None

    @property
    def last_fired(self) -> float | None:
        """The latest fire over the entries."""
        fires = [e.last_fired for e in self.entries if e.last_fired is not None]
        return max(fires) if fires else None


@dataclass(frozen=True)
class TrialView:
    """One trial of an optimization: its parameters and objective value (None until reported)."""

    task: TaskRecord
    parameters: dict[str, JSONValue]
    objective: float | None


@dataclass(frozen=True)
class OptimizationView:
    """An optimization task, its objective and its trials, best first."""

    task: TaskRecord
    title: str
    series: str
    sign: str  #: ``min``/``max`` (``min_global``/``max_global`` for the extremum over iterations)
    parameter_names: list[str]
    trials: list[TrialView] = field(default_factory=list)

    @property
    def best(self) -> TrialView | None:
        """The trial with the best objective so far."""
        scored = [t for t in self.trials if t.objective is not None]
        return scored[0] if scored else None


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def find_services(store: TaskStore, kind: ServiceKind) -> list[TaskRecord]:
    """Every scheduler (or trigger) service task, most recently updated first. Blocking."""
    return store.find_tasks(TaskFilter(task_type=(TaskTypes.service,), system_tags=(_TAGS[kind],)))


def service_view(task: TaskRecord, kind: ServiceKind) -> ServiceView:
    """``task``'s stored state shaped for display. Raises SpecError when ``task`` is not a
    ``kind`` service (it names the task and what it is)."""
    if _TAGS[kind] not in task.system_tags:
        raise SpecError(f"task {task.id} ({task.name!r}) is not a {kind}: its type is {task.task_type.value}")
    stored_state = task.runtime.get(AUTOMATION_STATE)
    state: dict[str, Any] = stored_state if isinstance(stored_state, dict) else {}
    section = state.get("jobs" if kind == "scheduler" else "triggers")
    section = section if isinstance(section, dict) else {}
    entries = [_entry(str(name), stored) for name, stored in section.items() if isinstance(stored, dict)]
    stored_events = state.get("events")
    events = [
        EventView(
            time=_num(e.get("time")) or 0.0,
            entry=str(e.get("job", "")),
            action=str(e.get("action", "")),
            reason=str(e.get("reason", "")),
            task_id=str(e.get("task_id", "")),
            key=str(e.get("key", "")),
        )
        for e in (stored_events if isinstance(stored_events, list) else [])
        if isinstance(e, dict)
    ]
    entries = [_with_last_fire(e, events) for e in entries]
    lease = state.get("lease")
    lease = lease if isinstance(lease, dict) else {}
    return ServiceView(task, kind, entries, events, str(lease.get("owner", "")), _num(lease.get("until")))


def _with_last_fire(entry: EntryView, events: Sequence[EventView]) -> EntryView:
    """``entry`` with its last fire (and task) taken from the events when its state has none:
    triggers keep only the ids they fired for, not when."""
    if entry.last_fired is not None:
        return entry
    fires = [e for e in events if e.entry == entry.name and e.action == "fired"]
    if not fires:
        return entry
    last = max(fires, key=lambda e: e.time)
    return replace(entry, last_fired=last.time, last_task_id=entry.last_task_id or last.task_id)


#: The configuration objects a service writes its entries' definitions to (see each service's
#: ``_definition``): the scheduler one list, the trigger service one list per kind of trigger.
_DEFINITIONS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"scheduler": ("schedule",), "trigger": ("datasets", "models", "tasks")}
)


def service_definitions(store: TaskStore, task: TaskRecord, kind: ServiceKind) -> dict[str, dict[str, Any]]:
    """What each entry of ``task`` does (when, what it watches, what it launches), by entry name,
    as the service last wrote it: a service writes its definitions when it starts (``start()``,
    ``run_until``), so one only ever stepped by hand has none ({}). Blocking: one read."""
    found: dict[str, dict[str, Any]] = {}
    wanted = _DEFINITIONS[kind]
    for config in store.get_configs(task.id):
        if config.name not in wanted:
            continue
        try:
            listed = json.loads(config.value)
        except ValueError:
            continue
        for item in listed if isinstance(listed, list) else []:
            if isinstance(item, dict) and "name" in item:
                found[str(item["name"])] = item
    return found


def _entry(name: str, stored: dict[str, Any]) -> EntryView:
    runs = [r for r in stored.get("runs") or [] if isinstance(r, dict)]
    fired_list = stored.get("fired")
    if isinstance(fired_list, list):  # triggers keep the ids they fired for
        count = len(fired_list)
    else:
        count = int(_num(fired_list) or 0)
    last = runs[-1] if runs else {}
    return EntryView(
        name=name,
        next_run=_num(stored.get("next")),
        fired=count,
        last_fired=_num(last.get("fired")),
        last_task_id=str(last.get("task_id") or stored.get("last_task_id") or ""),
    )


def find_optimizations(store: TaskStore) -> list[TaskRecord]:
    """Every optimization task, most recently updated first. Blocking."""
    return store.find_tasks(TaskFilter(task_type=(TaskTypes.optimizer,), tags=(OPTIMIZATION_TAG,)))


def optimization_view(store: TaskStore, task: TaskRecord) -> OptimizationView:
    """``task``'s objective and trials (parameters, objective value), best first. Blocking: one
    read per trial. Raises SpecError when ``task`` is not an optimization."""
    if task.task_type is not TaskTypes.optimizer:
        raise SpecError(
            f"task {task.id} ({task.name!r}) is not an optimization: its type is {task.task_type.value}"
        )
    opts = {p.name: p.value for p in store.get_params(task.id) if p.section == "opt"}
    title, series, sign = (
        _first(opts.get(k))
        for k in ("objective_metric_title", "objective_metric_series", "objective_metric_sign")
    )
    sign = sign or "min"
    names = _searched_names(store, task.id)
    trials: list[TrialView] = []
    for trial in store.find_tasks(TaskFilter(tags=(f"opt: {task.id}",), order="created")):
        params = {p.key: p.value for p in store.get_params(trial.id)}
        if names:
            params = {k: params[k] for k in names if k in params}
        else:
            names = list(params)
        values = [
            (s.iteration, s.value)
            for s in store.get_scalars(trial.id)
            if s.title == title and s.series == series
        ]
        trials.append(TrialView(trial, params, _objective(values, sign)))
    descending = sign.startswith("max")
    trials.sort(
        key=lambda t: (t.objective is None, -(t.objective or 0) if descending else (t.objective or 0))
    )
    return OptimizationView(task, title, series, sign, names, trials)


def _searched_names(store: TaskStore, task_id: str) -> list[str]:
    """The parameters the optimization searches (its ``hyper_parameters`` configuration)."""
    for config in store.get_configs(task_id):
        if config.name == "hyper_parameters":
            try:
                ranges = json.loads(config.value).get("parameters") or []
            except (ValueError, AttributeError):
                return []
            return [str(r["name"]) for r in ranges if isinstance(r, dict) and "name" in r]
    return []


def _first(value: JSONValue | None) -> str:
    if isinstance(value, list):
        return str(value[0]) if value else ""
    return "" if value is None else str(value)


def _objective(values: Sequence[tuple[int, float]], sign: str) -> float | None:
    """The last reported value, or the extremum over all of them for a ``*_global`` sign."""
    finite = [(i, v) for i, v in values if not math.isnan(v)]
    if not finite:
        return None
    if sign.endswith("_global"):
        pick = max if sign.startswith("max") else min
        return pick(v for _, v in finite)
    return max(finite, key=lambda p: p[0])[1]
