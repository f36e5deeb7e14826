"""``taskmill tasks``: list tasks, show one in detail, print or follow its console log.

The commands that change one task (abort, clone, delete, archive, artifacts get) live in
:mod:`.task_actions` and are mounted here.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from typing import Annotated

import typer

from taskmill.cli import task_actions
from taskmill.cli._common import (
    format_duration,
    format_time,
    new_table,
    opened_store,
    print_json,
    print_note,
    relative_time,
    resolve_task,
    short_id,
    status_text,
    stdout_console,
    store_missing,
    task_duration,
)
from taskmill.cli._detail import collect_details, render_details
from taskmill.core.model import LogLine
from taskmill.core.states import TaskStatus, TaskTypes
from taskmill.runs.editing import set_draft_params
from taskmill.store.base import TaskFilter, TaskStore

app = typer.Typer(help="List, inspect, abort, clone, delete and archive tasks.", no_args_is_help=True)
app.command("abort")(task_actions.abort_task)
app.command("clone")(task_actions.clone_task)
app.command("delete")(task_actions.delete_task)
app.command("archive")(task_actions.archive_task)
app.add_typer(task_actions.artifacts_app, name="artifacts")

#: The ID argument of the commands that act on one task.
TaskRef = Annotated[str, typer.Argument(metavar="ID", help="Task id, or a unique prefix of 4+ characters.")]

#: How often ``logs --follow`` asks the store for new lines.
FOLLOW_INTERVAL = 0.2


def _parse_statuses(values: list[str]) -> tuple[TaskStatus, ...]:
    # Accept repeated options and comma lists alike: `-s running -s failed` or `-s running,failed`.
    names = [part for value in values for part in value.split(",") if part.strip()]
    return tuple(dict.fromkeys(TaskStatus.parse(name) for name in names))


@app.command("list")
def list_tasks(
    ctx: typer.Context,
    project: Annotated[
        str | None, typer.Option("--project", "-p", metavar="PROJECT", help="Only tasks of this project.")
    ] = None,
    recursive: Annotated[
        bool, typer.Option("--recursive", "-r", help="With --project: include its sub-projects.")
    ] = False,
    status: Annotated[
        list[str] | None,
        typer.Option(
            "--status",
            "-s",
            metavar="STATUS",
            help="Only these statuses (repeatable): draft, pending, running, aborted, completed, failed, ...",
        ),
    ] = None,
    tag: Annotated[
        list[str] | None,
        typer.Option("--tag", "-t", metavar="TAG", help="Only tasks with all these tags (repeatable)."),
    ] = None,
    task_type: Annotated[
        TaskTypes | None,
        typer.Option(
            "--type",
            metavar="TYPE",
            help="Only tasks of this type: training, testing, data_processing, controller, ...",
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option("--name", metavar="TEXT", help="Only tasks whose name contains this (any case)."),
    ] = None,
    parent: Annotated[
        str | None, typer.Option("--parent", metavar="ID", help="Only children of this task (id or prefix).")
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=0, metavar="N", help="Show at most N tasks (0: all).")
    ] = 50,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (full records) instead of a table.")
    ] = False,
) -> None:
    """List tasks, newest first.

    Examples:

        taskmill tasks list --project mnist -r --status running

        taskmill tasks list --tag nightly --status failed --status aborted --json
    """
    if recursive and project is None:
        raise typer.BadParameter("--recursive needs --project", param_hint="--recursive")
    if store_missing(ctx, as_json, "No tasks match."):
        return
    with opened_store(ctx, create=False) as store:
        flt = TaskFilter(
            project=project,
            include_subprojects=recursive,
            name_contains=name,
            status=_parse_statuses(status or []),
            task_type=(task_type,) if task_type else (),
            tags=tuple(tag or ()),
            parent=resolve_task(store, parent).id if parent else None,
            # One extra row tells whether the limit cut the list short.
            limit=limit + 1 if limit else None,
            order="-created",
        )
        found = store.find_tasks(flt)
    truncated = bool(limit) and len(found) > limit
    shown = found[:limit] if limit else found
    if as_json:
        print_json([t.to_dict() for t in shown])
        return
    if not shown:
        print_note("No tasks match.")
        return
    now = time.time()
    table = new_table()
    table.add_column("ID", no_wrap=True)
    table.add_column("Name", overflow="fold")
    table.add_column("Project", overflow="fold")
    table.add_column("Type")
    table.add_column("Status", no_wrap=True)
    table.add_column("Started", no_wrap=True)
    table.add_column("Duration", justify="right", no_wrap=True)
    table.add_column("Updated", no_wrap=True)
    for t in shown:
        table.add_row(
            short_id(t.id),
            t.name,
            t.project,
            t.task_type.value,
            status_text(t.status),
            format_time(t.started),
            format_duration(task_duration(t, now)),
            relative_time(t.last_update, now),
        )
    stdout_console().print(table)
    if truncated:
        print_note(f"Showing the {limit} newest matching tasks; use --limit to see more.")


@app.command("show")
def show_task(
    ctx: typer.Context,
    task_id: TaskRef,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document instead.")] = False,
) -> None:
    """Show everything about one task: status, script, parameters, artifacts, scalars, models.

    Examples:

        taskmill tasks show 3f2a9c01

        taskmill tasks show 3f2a9c01 --json
    """
    with opened_store(ctx, create=False) as store:
        details = collect_details(store, resolve_task(store, task_id))
    if as_json:
        print_json(details.to_dict())
    else:
        render_details(stdout_console(), details)


@app.command("set-param")
def set_param(
    ctx: typer.Context,
    task_id: TaskRef,
    assignments: Annotated[
        list[str],
        typer.Argument(metavar="SECTION/NAME=VALUE...", help="Parameters to set, e.g. General/epochs=10."),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the written parameters as JSON.")] = False,
) -> None:
    """Change parameters of a draft task before it runs (e.g. a pipeline's draft step).

    A parameter that exists keeps its type; a new one is read as JSON, else as text. Only draft
    tasks can be edited; enqueue the task afterwards to run it.

    Examples:

        taskmill tasks set-param 3f2a9c01 kwargs/x=5

        taskmill tasks set-param 3f2a9c01 General/lr=0.01 General/layers=[64,64]
    """
    overrides: dict[str, str] = {}
    for item in assignments:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"'{item}' is not SECTION/NAME=VALUE", param_hint="SECTION/NAME=VALUE")
        overrides[key] = value
    with opened_store(ctx) as store:
        task = resolve_task(store, task_id)
        written = set_draft_params(store, task.id, overrides)
    if as_json:
        print_json([asdict(p) for p in written])
        return
    for p in written:
        typer.echo(f"{p.section}/{p.name} = {json.dumps(p.value)}")
    typer.echo(f"Set {len(written)} parameter(s) on draft {task.name} ({short_id(task.id)}).")


def _print_lines(lines: list[LogLine]) -> None:
    # Plain echo, not rich: log text is arbitrary and must not be parsed as markup.
    for line in lines:
        typer.echo(line.text)


def _follow(store: TaskStore, task_id: str, after: int) -> TaskStatus:
    """Print new lines until the task reaches a final status; returns that status."""
    while True:
        # Read the status before the lines: lines written before the task ended are then
        # guaranteed to be in this last fetch.
        status = store.get_task(task_id).status
        lines = store.get_log(task_id, after=after)
        _print_lines(lines)
        if lines:
            after = lines[-1].seq
        if status.is_final:
            return status
        time.sleep(FOLLOW_INTERVAL)


@app.command("logs")
def task_logs(
    ctx: typer.Context,
    task_id: TaskRef,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new lines until the task finishes.")
    ] = False,
    tail: Annotated[
        int | None, typer.Option("--tail", "-n", min=0, metavar="N", help="Only the last N lines.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the lines as one JSON list.")] = False,
) -> None:
    """Print a task's console output (stdout and stderr lines, in order).

    Examples:

        taskmill tasks logs 3f2a9c01 --tail 50

        taskmill tasks logs 3f2a9c01 --follow
    """
    if follow and as_json:
        # --json promises one JSON document, which a stream that is still growing cannot be.
        raise typer.BadParameter("--json cannot be combined with --follow", param_hint="--json")
    with opened_store(ctx, create=False) as store:
        task = resolve_task(store, task_id)
        # with --tail only the end is read: a long log is not loaded whole
        lines = store.get_log(task.id, tail=None if tail is None else max(tail, 1))
        last_seq = lines[-1].seq if lines else 0
        if tail is not None:
            lines = lines[-tail:] if tail else []
        if as_json:
            print_json([asdict(ln) for ln in lines])
            return
        _print_lines(lines)
        if follow:
            try:
                final = _follow(store, task.id, last_seq)
            except KeyboardInterrupt:
                # Stopping to watch is normal use, not an error worth click's "Aborted!".
                raise typer.Exit(code=130) from None
            print_note(f"task {short_id(task.id)} ended: {final.label}")
