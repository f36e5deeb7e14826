"""Rendering of ``taskmill pipelines`` output: step symbols, progress bars, the run header, the
step table and tree, cache explanations. Pure functions from operation views to rich renderables.

A step's time is shown as two numbers, as the web UI shows them: the *wait* (the node launched
its task -> the task started: a queue, a free slot, an agent) and the *run* (the task's own start ->
end). Both need the step's task record; without it only the node's launch -> end is known, and
that is shown as the run with the wait unknown."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from taskmill.cli._common import (
    format_duration,
    format_timestamp,
    json_text,
    new_table,
    short_id,
    status_text,
)
from taskmill.core.model import TaskRecord
from taskmill.core.states import TaskStatus
from taskmill.runs.views import RunDetail, StepView
from taskmill.types import JSONValue

#: Step status -> (symbol, style). Symbols keep statuses apart without colour (pipes, colour-blind
#: readers).
STEP_LOOK: dict[str, tuple[str, str]] = {
    "completed": ("✓", "green"),
    "cached": ("≡", "cyan"),
    "failed": ("✗", "bold red"),
    "aborted": ("■", "magenta"),
    "pending": ("○", "dim"),
    "queued": ("◌", "yellow"),
    "running": ("…", "bold blue"),
    "skipped": ("↷", "dim"),
}
CACHE_STYLES = {"hit": "cyan", "miss": "yellow", "forced": "magenta", "disabled": "dim", "none": "dim"}
_BAR_WIDTH = 10


@dataclass(frozen=True)
class StepTimes:
    """How long a step waited (launch -> its task started) and ran (the task's start -> end, or
    -> ``now`` while it runs: ``so_far``); None where unknown."""

    wait: float | None
    ran: float | None
    so_far: bool = False


def step_times(step: StepView, task: TaskRecord | None, now: float | None = None) -> StepTimes:
    """The wait and run of ``step`` from its node and its current ``task`` (None when the record
    is not at hand). A cached step ran nothing in this run: both unknown."""
    if step.status == "cached" or (step.started is None and (task is None or task.started is None)):
        return StepTimes(None, None)
    now = time.time() if now is None else now
    if task is not None and task.started is not None:
        wait = max(0.0, task.started - step.started) if step.started is not None else None
        end = task.completed if task.completed is not None else step.ended
        if end is None and task.status.is_final:
            return StepTimes(wait, None)
        return StepTimes(wait, max(0.0, (end if end is not None else now) - task.started), end is None)
    assert step.started is not None  # checked above: no task start, so the node's launch is known
    if step.ended is not None:  # no task record: the node's launch -> end, wait unknown
        return StepTimes(None, max(0.0, step.ended - step.started))
    if step.status in ("running", "queued"):  # launched, its task has not started yet
        return StepTimes(max(0.0, now - step.started), None)
    return StepTimes(None, None)


def times_text(times: StepTimes) -> tuple[str, str]:
    """The Wait and Ran cells: ``-`` when unknown, ``12s so far`` while running."""
    ran = format_duration(times.ran)
    return format_duration(times.wait), f"{ran} so far" if times.so_far and times.ran is not None else ran


def step_status(status: str) -> Text:
    """``✓ completed`` in the status colour."""
    symbol, style = STEP_LOOK.get(status, ("?", "default"))
    return Text(f"{symbol} {status}", style=style)


def progress_bar(done: int, total: int, status: TaskStatus) -> Text:
    """``████░░ 4/6``: one block per step (scaled to at most 10), in the run's status colour."""
    if total <= 0:
        return Text("-", style="dim")
    width = min(total, _BAR_WIDTH)
    filled = round(width * done / total)
    text = Text("█" * filled, style=status_text(status).style)
    text.append("░" * (width - filled), style="dim")
    text.append(f" {done}/{total}")
    return text


def grid(rows: list[tuple[str, str | Text]]) -> Table:
    """Bold keys and their values, one pair a line."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for key, value in rows:
        table.add_row(key, value)
    return table


def count_text(n: int, style: str) -> Text:
    """A count in ``style``; zero dimmed."""
    return Text(str(n), style=style if n else "dim")


def run_header(d: RunDetail) -> Table:
    """Pipeline, version, status and message, times, parameters, step counts (and the controller
    while the run is running)."""
    s = d.summary
    status = status_text(s.status)
    if s.message:
        status.append(f": {s.message}", style="default")
    counts: dict[str, int] = {}
    for step in d.steps:
        counts[step.status] = counts.get(step.status, 0) + 1
    steps = Text(f"{s.done}/{s.total} done")
    for name, n in counts.items():
        if name != "completed":
            steps.append("  ·  ")
            steps.append(step_status(name)).append(f" {n}")
    params = ", ".join(f"{k}={json_text(v)}" for k, v in d.params.items()) or "-"
    rows: list[tuple[str, str | Text]] = [
        ("Pipeline", f"{s.pipeline}  (project {s.project})"),
        ("Version", s.version or "-"),
        ("Status", status),
        ("Started", format_timestamp(s.started)),
        ("Duration", format_duration(s.duration)),
        ("Parameters", params),
        ("Steps", steps),
    ]
    ctl = d.controller
    if s.status == TaskStatus.in_progress:
        state = {True: "running", False: "gone: abort or resume the run", None: "on another host"}[ctl.alive]
        rows.append(("Controller", f"pid {ctl.pid} on {ctl.host or '?'} ({state})"))
    return grid(rows)


def steps_table(
    d: RunDetail, tasks: Mapping[str, TaskRecord] | None = None, now: float | None = None
) -> Table:
    """One row per step in topological order; Stage and Attempts columns only when they say
    something. ``tasks`` (the steps' current task records by id) give the Wait and Ran columns
    their numbers (see :func:`step_times`)."""
    table = new_table()
    tasks = tasks or {}
    retried = any(len(step.attempts) > 1 for step in d.steps)
    staged = any(step.stage for step in d.steps)
    columns = ["Step", *(["Stage"] if staged else []), "Status", "Task", "Wait", "Ran"]
    columns += [*(["Attempts"] if retried else []), "Cache", "Note"]
    for col in columns:
        table.add_column(col, overflow="fold", no_wrap=col not in ("Step", "Note"))
    for step in d.steps:
        cells: list[str | Text] = [step.name, *([step.stage or "-"] if staged else [])]
        cells += [step_status(step.status), short_id(step.task_id) if step.task_id else "-"]
        cells += times_text(step_times(step, tasks.get(step.task_id or ""), now))
        if retried:
            cells.append(str(len(step.attempts)) if len(step.attempts) > 1 else "")
        cells += [Text(step.cache or "-", style=CACHE_STYLES.get(step.cache, "dim")), step.message]
        table.add_row(*cells)
    return table


def steps_tree(d: RunDetail, tasks: Mapping[str, TaskRecord] | None = None, now: float | None = None) -> Tree:
    """The steps as a tree from the roots down; a step with several parents is drawn under the
    first and marked "(see above)" under the others. ``tasks`` as for :func:`steps_table`."""
    tasks = tasks or {}
    tree = Tree(Text(d.summary.name, style="bold"), guide_style="dim")
    steps = {step.name: step for step in d.steps}
    children: dict[str, list[str]] = {name: [] for name in steps}
    for step in d.steps:
        for parent in step.parents:
            if parent in children:
                children[parent].append(step.name)
    shown: set[str] = set()

    def add(branch: Tree, name: str) -> None:
        step = steps[name]
        label = Text.assemble(step_status(step.status).split(" ")[0], " ", (name, "bold"))
        if name in shown:
            branch.add(label.append("  (see above)", style="dim"))
            return
        shown.add(name)
        label.append(f"  {step.status}", style=STEP_LOOK.get(step.status, ("", "default"))[1])
        if step.task_id:
            wait, ran = times_text(step_times(step, tasks.get(step.task_id), now))
            label.append(f"  {short_id(step.task_id)}  ran {ran}  wait {wait}", style="dim")
        node = branch.add(label)
        for child in children[name]:
            add(node, child)

    for step in d.steps:
        if not any(p in steps for p in step.parents):
            add(tree, step.name)
    return tree


def _ref_text(ref: JSONValue) -> str:
    """``<id>  (step 'x' of run 'p #2' 1a2b3c4d)`` for a task an explanation points at."""
    if not isinstance(ref, dict):
        return "-"
    text = f"{ref.get('id')}  (step '{ref.get('name')}'"
    if ref.get("deleted"):
        return f"{ref.get('id')}  (deleted)"
    if ref.get("run_name"):
        text += f" of run '{ref['run_name']}' {str(ref.get('run_id'))[:8]}"
    return text + ")"


def render_explanation(console: Console, data: dict[str, JSONValue]) -> None:
    """Print what ``explain_step`` returned."""
    cache = data.get("cache")
    cache = cache if isinstance(cache, dict) else {}
    result = str(cache.get("result") or "none")
    console.print(
        Text.assemble(
            ("Step ", "bold"),
            (str(data["step"]), "bold"),
            f" of run {data['run_name']}  ",
            step_status(str(data["status"])),
            "  cache: ",
            (result, "bold " + CACHE_STYLES.get(result, "")),
        )
    )
    attempts = data.get("attempts")
    rows: list[tuple[str, str | Text]] = [("Reason", str(cache.get("reason") or "-"))]
    if "source_task_ref" in data:
        rows.append(("Reused task", _ref_text(data["source_task_ref"])))
    if "compared_to_ref" in data:
        rows.append(("Compared to", _ref_text(data["compared_to_ref"])))
    changed = cache.get("changed")
    if isinstance(changed, list) and changed:
        rows.append(("Changed", ", ".join(map(str, changed))))
    details = cache.get("details")
    if isinstance(details, list) and details:
        rows.append(("Details", "\n".join(str(d) for d in details)))
    rows.append(("Task", str(data.get("task_id") or "-")))
    if isinstance(attempts, list) and len(attempts) > 1:
        rows.append(("Attempts", "\n".join(map(str, attempts))))
    if cache.get("key"):
        rows.append(("Cache key", str(cache["key"])))
    if data.get("message"):
        rows.append(("Note", str(data["message"])))
    console.print(grid(rows))
