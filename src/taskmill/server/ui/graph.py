"""The run page's DAG as drawn: steps, collapsed stages and groups of repeated steps, with positions.

Big runs stay usable by drawing fewer nodes:

* **stages** (``stage=`` on steps) can be collapsed into one card per stage, with counts per status;
* **groups of repeated steps**: steps whose names differ only by a trailing number
  (``train_1`` ... ``train_9000``), in the same stage and the same column of the DAG, are drawn as
  one group node with counts per status, expandable one group at a time. Grouping is on by default
  above :data:`GROUP_ABOVE` steps (a 200-step fan-out drawn step by step is a 13,000-px column
  nobody can read; grouped, it fits the screen). Members of one column never depend on each
  other, so the grouped graph stays acyclic.

Times: ``st``/``en`` are when the controller launched the step and saw it end; ``ts``/``tc`` are
when its task itself started and completed (from the task record, when known), so the page can
show the wait (launch -> start) and the run (start -> end) apart.

The output is JSON for the page's script (``dag.js``): visible nodes with boxes, edges as point
lists, and for every hidden step which visible node stands for it (so live updates can adjust the
counts of its group). Pure: builds data from :class:`~taskmill.runs.views.StepView`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from taskmill.runs.views import StepView
from taskmill.server.ui.layout import acyclic_order, layers_of, layout

#: Runs with more steps than this group repeated steps unless the viewer turns grouping off.
GROUP_ABOVE = 60
#: Runs with more steps than this start with their stages collapsed.
COLLAPSE_ABOVE = 1500
#: A group needs at least this many members (smaller sets stay individual nodes).
MIN_GROUP = 4
#: Longest label drawn inside a node; longer names are cut with an ellipsis (full name on hover).
LABEL_CHARS = 24
STEP_SIZE = (212.0, 50.0)
GROUP_SIZE = (232.0, 60.0)

#: The multiplication sign of group labels (``train_* x9000`` with a real times sign).
TIMES = "\u00d7"
_NUMBERED = re.compile(r"^(.*?[^\d])\d+$")
#: Worst to best: a group or stage takes the status of its "worst" member that is present.
_PRECEDENCE = ("failed", "running", "queued", "aborted", "pending", "skipped", "cached", "completed")


@dataclass(frozen=True)
class GraphOptions:
    """What the viewer asked for: grouping on/off (None: automatic), expanded groups, collapsed
    stages (None: automatic; ``{"*"}``: all)."""

    group: bool | None = None
    expanded: frozenset[str] = frozenset()
    collapsed: frozenset[str] | None = None

    @classmethod
    def parse(cls, group: str | None, expand: str | None, collapse: str | None) -> GraphOptions:
        """From query parameters: ``group=1|0``, ``expand=id,id``, ``collapse=stage,stage|*|-``."""
        flag = None if group in (None, "") else group not in ("0", "false", "off")
        opened = frozenset(s for s in (expand or "").split(",") if s)
        if collapse is None or collapse == "":
            shut: frozenset[str] | None = None
        elif collapse == "-":
            shut = frozenset()
        else:
            shut = frozenset(s for s in collapse.split(",") if s)
        return cls(flag, opened, shut)


@dataclass
class _Visible:
    id: str
    kind: str
    label: str
    name: str
    stage: str | None
    members: list[StepView] = field(default_factory=list)


def short_label(name: str, limit: int = LABEL_CHARS) -> str:
    """``name`` cut to ``limit`` characters with an ellipsis."""
    return name if len(name) <= limit else name[: limit - 1] + "…"


def summary_status(statuses: Iterable[str]) -> str:
    """The status a group shows: its worst member status (failed > running > queued > ...)."""
    present = set(statuses)
    for status in _PRECEDENCE:
        if status in present:
            return status
    return "pending"


#: When a step's task started and completed (None: not recorded yet), by step name.
TaskTimes = Mapping[str, tuple[float | None, float | None]]


def build_graph(
    steps: Sequence[StepView], options: GraphOptions, times: TaskTimes | None = None
) -> dict[str, Any]:
    """The drawable graph of a run's ``steps`` (in topological order) under ``options``;
    ``times`` adds each step's task start and end (``ts``/``tc``) to its node."""
    times = times or {}
    by_name = {s.name: s for s in steps}
    names = list(by_name)
    parents = {s.name: [p for p in s.parents if p in by_name] for s in steps}
    stages = sorted({s.stage for s in steps if s.stage})
    collapsed = options.collapsed
    if collapsed is None:
        collapsed = frozenset(stages) if len(steps) > COLLAPSE_ABOVE else frozenset()
    elif "*" in collapsed:
        collapsed = frozenset(stages)
    grouping = options.group if options.group is not None else len(steps) > GROUP_ABOVE

    owner: dict[str, str] = {}
    visible: dict[str, _Visible] = {}
    for stage in stages:
        if stage in collapsed:
            visible[f"stage:{stage}"] = _Visible(f"stage:{stage}", "stage", short_label(stage), stage, stage)
    if grouping:
        _group(steps, parents, collapsed, options.expanded, visible, owner)
    for step in steps:
        if step.stage in collapsed:
            owner[step.name] = f"stage:{step.stage}"
        elif step.name not in owner:
            owner[step.name] = step.name
            visible[step.name] = _Visible(step.name, "step", short_label(step.name), step.name, step.stage)
    for step in steps:
        visible[owner[step.name]].members.append(step)

    ids = _ordered_ids(names, owner)
    vparents: dict[str, list[str]] = {i: [] for i in ids}
    for name in names:
        child = owner[name]
        for parent in parents[name]:
            source = owner[parent]
            if source != child and source not in vparents[child]:
                vparents[child].append(source)
    sizes = {i: (STEP_SIZE if visible[i].kind == "step" else GROUP_SIZE) for i in ids}
    placed = layout(ids, vparents, sizes)

    nodes = []
    for vid in ids:
        v, box = visible[vid], placed.nodes[vid]
        item: dict[str, Any] = {
            "id": vid,
            "kind": v.kind,
            "label": v.label,
            "name": v.name,
            "stage": v.stage,
            "x": round(box.x, 1),
            "y": round(box.y, 1),
            "w": box.w,
            "h": box.h,
        }
        if v.kind == "step":
            item.update(_step_fields(v.members[0], times.get(vid)))
        else:
            counts: dict[str, int] = {}
            for member in v.members:
                counts[member.status] = counts.get(member.status, 0) + 1
            item.update(status=summary_status(counts), counts=counts, size=len(v.members))
        nodes.append(item)
    hidden = {s.name: [owner[s.name], s.status] for s in steps if owner[s.name] != s.name}
    edges = [[[round(x), round(y)] for x, y in pts] for _, _, pts in placed.edges]
    return {
        "nodes": nodes,
        "edges": edges,
        "hidden": hidden,
        "width": round(placed.width),
        "height": round(placed.height),
        "stages": [{"name": s, "collapsed": s in collapsed} for s in stages],
        "grouping": grouping,
        "expanded": sorted(options.expanded),
        "total": len(steps),
    }


def compact_step(step: StepView, times: tuple[float | None, float | None] | None = None) -> dict[str, Any]:
    """The fields of a step the page keeps up to date (the SSE patch format); ``times`` are its
    task's start and end."""
    return {"n": step.name, **_step_fields(step, times)}


def _step_fields(step: StepView, times: tuple[float | None, float | None] | None) -> dict[str, Any]:
    ts, tc = times if times is not None else (None, None)
    return {
        "ts": ts,
        "tc": tc,
        "status": step.status,
        "task": step.task_id,
        "st": step.started,
        "en": step.ended,
        "cache": step.cache,
        "kindOf": step.kind,
        "msg": step.message[:300],
    }


def _group(
    steps: Sequence[StepView],
    parents: dict[str, list[str]],
    collapsed: frozenset[str],
    expanded: frozenset[str],
    visible: dict[str, _Visible],
    owner: dict[str, str],
) -> None:
    """Put numbered steps of the same prefix, stage and column into group nodes."""
    names = [s.name for s in steps]
    order, back = acyclic_order(names, parents)
    edges = [(p, c) if (p, c) not in back else (c, p) for c in names for p in parents[c]]
    column = layers_of(order, edges)
    buckets: dict[tuple[str, str, int], list[StepView]] = {}
    for step in steps:
        if step.stage in collapsed:
            continue
        match = _NUMBERED.match(step.name)
        if match:
            buckets.setdefault((step.stage or "", match.group(1), column[step.name]), []).append(step)
    for (stage, prefix, col), members in buckets.items():
        gid = f"group:{stage}:{prefix}:{col}"
        if len(members) < MIN_GROUP or gid in expanded:
            continue
        label = short_label(f"{prefix}* {TIMES}{len(members)}")
        visible[gid] = _Visible(gid, "group", label, f"{prefix}*", stage or None)
        for member in members:
            owner[member.name] = gid


def _ordered_ids(names: Sequence[str], owner: dict[str, str]) -> list[str]:
    """Visible ids in the order their first member appears (the steps' topological order)."""
    seen: dict[str, None] = {}
    for name in names:
        seen.setdefault(owner[name], None)
    return list(seen)
