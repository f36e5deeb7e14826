"""Everything ``taskmill tasks show`` prints about one task: gathered once, rendered as text or JSON."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from taskmill.cli._common import (
    format_duration,
    format_timestamp,
    human_size,
    json_text,
    new_table,
    relative_time,
    short_hash,
    status_text,
    task_duration,
)
from taskmill.core.model import ArtifactRecord, ConfigObject, ModelRecord, Param, ScalarPoint, TaskRecord
from taskmill.errors import TaskNotFoundError
from taskmill.store.base import TaskStore


@dataclass(frozen=True, slots=True)
class ScalarSummary:
    """One reported series reduced to what fits on a line."""

    title: str
    series: str
    count: int
    last_iteration: int
    last_value: float
    min_value: float
    max_value: float


@dataclass(frozen=True, slots=True)
class TaskDetails:
    """A task with everything recorded on it, read from the store in one go."""

    task: TaskRecord
    parent_name: str | None  #: None when there is no parent or it was deleted
    params: list[Param]
    configs: list[ConfigObject]
    artifacts: list[ArtifactRecord]
    scalars: list[ScalarSummary]
    models: list[ModelRecord]

    def to_dict(self) -> dict[str, Any]:
        """The task's own fields at the top level (like ``tasks list --json``) plus its records."""
        return {
            **self.task.to_dict(),
            "parent_name": self.parent_name,
            "parameters": [asdict(p) | {"key": p.key} for p in self.params],
            "configuration": [asdict(c) for c in self.configs],
            "artifacts": [a.to_dict() for a in self.artifacts],
            "scalars": [asdict(s) for s in self.scalars],
            "models": [asdict(m) for m in self.models],
        }


def summarize_scalars(points: list[ScalarPoint]) -> list[ScalarSummary]:
    """One summary per (title, series), in first-seen order; "last" means highest iteration."""
    groups: dict[tuple[str, str], list[ScalarPoint]] = {}
    for p in points:
        groups.setdefault((p.title, p.series), []).append(p)
    out = []
    for (title, series), pts in groups.items():
        # Stores return points by iteration, but do not rely on it: a re-reported iteration
        # counts by its latest timestamp.
        last = max(pts, key=lambda p: (p.iteration, p.timestamp))
        values = [p.value for p in pts]
        out.append(
            ScalarSummary(title, series, len(pts), last.iteration, last.value, min(values), max(values))
        )
    return out


def collect_details(store: TaskStore, task: TaskRecord) -> TaskDetails:
    """Read everything ``show`` needs about ``task``."""
    parent_name = None
    if task.parent:
        try:
            parent_name = store.get_task(task.parent).name
        except TaskNotFoundError:
            pass  # a deleted parent is still worth showing by id
    return TaskDetails(
        task=task,
        parent_name=parent_name,
        params=store.get_params(task.id),
        configs=store.get_configs(task.id),
        artifacts=store.get_artifacts(task.id),
        scalars=summarize_scalars(store.get_scalars(task.id)),
        models=store.get_models(task.id),
    )


# -- rendering -----------------------------------------------------------------------------------


def _fields_grid(rows: list[tuple[str, str | Text]]) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    for key, value in rows:
        grid.add_row(key, value)
    return grid


def _table(*columns: str, numeric: tuple[str, ...] = ()) -> Table:
    table = new_table()
    for col in columns:
        table.add_column(col, overflow="fold", justify="right" if col in numeric else "left")
    return table


def _heading(console: Console, title: str) -> None:
    # Plain headings rather than rules: rules span the full width, which is arbitrary in pipes.
    console.print()
    console.print(Text(title, style="bold underline"))


def _when(ts: float | None, now: float) -> str:
    return "-" if not ts else f"{format_timestamp(ts)}  ({relative_time(ts, now)})"


def _overview(d: TaskDetails, now: float) -> Table:
    t = d.task
    status = status_text(t.status)
    for extra in (t.status_message, t.status_reason):
        if extra:
            status.append(f"  {extra}", style="default")
    parent = "-"
    if t.parent:
        parent = f"{t.parent}  ({d.parent_name})" if d.parent_name else f"{t.parent}  (deleted)"
    rows: list[tuple[str, str | Text]] = [
        ("Name", t.name),
        ("Project", t.project),
        ("Type", t.task_type.value),
        ("Status", status),
        ("Parent", parent),
        ("Tags", ", ".join(t.tags) or "-"),
    ]
    if t.system_tags:
        rows.append(("System tags", ", ".join(t.system_tags)))
    rows += [
        ("User", t.user or "-"),
        ("Worker", t.worker or "-"),
        ("Queue", t.queue or "-"),
        ("Progress", f"{t.progress}%"),
        ("Created", _when(t.created, now)),
        ("Started", _when(t.started, now)),
        ("Completed", _when(t.completed, now)),
        ("Duration", format_duration(task_duration(t, now))),
        ("Last update", _when(t.last_update, now)),
        ("Output URI", t.output_uri or "-"),
    ]
    if t.comment:
        rows.append(("Comment", t.comment))
    return _fields_grid(rows)


def _script(d: TaskDetails) -> Table:
    s = d.task.script
    diff = f"yes ({len(s.diff.splitlines())} lines)" if s.diff.strip() else "no"
    packages = [ln for ln in s.requirements.splitlines() if ln.strip() and not ln.startswith("#")]
    return _fields_grid(
        [
            ("Entry point", s.entry_point or "-"),
            ("Working dir", s.working_dir or "-"),
            ("Repository", s.repository or "-"),
            ("Branch", s.branch or "-"),
            ("Commit", s.commit or "-"),
            ("Uncommitted diff", diff),
            ("Requirements", f"{len(packages)} packages" if packages else "-"),
        ]
    )


def render_details(console: Console, d: TaskDetails) -> None:
    """Print the human-readable view of ``d``."""
    now = time.time()
    console.print(Text.assemble(("Task ", "bold"), (d.task.id, "bold cyan")))
    console.print(_overview(d, now))

    _heading(console, "Script")
    console.print(_script(d))

    _heading(console, f"Parameters ({len(d.params)})")
    if d.params:
        params = _table("Name", "Value", "Type")
        for p in d.params:
            params.add_row(p.key, json_text(p.value), p.type or type(p.value).__name__)
        console.print(params)

    _heading(console, f"Configuration ({len(d.configs)})")
    for c in d.configs:
        console.print(Text.assemble(c.name, (f"  ({c.type})" if c.type else "", "dim")))

    _heading(console, f"Artifacts ({len(d.artifacts)})")
    if d.artifacts:
        arts = _table("Name", "Type", "Size", "Hash", "URI", numeric=("Size",))
        for a in d.artifacts:
            arts.add_row(a.name, a.type or "-", human_size(a.size), short_hash(a.hash), a.uri)
        console.print(arts)

    _heading(console, f"Scalars ({len(d.scalars)})")
    if d.scalars:
        numbers = ("Last", "Iteration", "Min", "Max", "Count")
        scalars = _table("Title / series", *numbers, numeric=numbers)
        for s in d.scalars:
            scalars.add_row(
                f"{s.title} / {s.series}",
                f"{s.last_value:.6g}",
                str(s.last_iteration),
                f"{s.min_value:.6g}",
                f"{s.max_value:.6g}",
                str(s.count),
            )
        console.print(scalars)

    _heading(console, f"Models ({len(d.models)})")
    if d.models:
        models = _table("Name", "Mode", "Framework", "URI")
        for m in d.models:
            models.add_row(m.name, m.mode, m.framework or "-", m.uri)
        console.print(models)
