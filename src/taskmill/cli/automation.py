"""``taskmill schedules``, ``taskmill triggers`` and ``taskmill hpo``: what the automation services
do, read from the store (read-only; never creates a store).

Schedules and triggers show their entries (next run, fires, last launched task), whether a
process runs them now (the lease), and their recent events: each fire or skip with its reason.
``hpo`` shows an optimization's objective and its trials table, best first.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Annotated, Any

import typer

from taskmill.cli._common import (
    format_timestamp,
    json_text,
    new_table,
    opened_store,
    print_json,
    relative_time,
    resolve_task,
    short_id,
    status_text,
    stdout_console,
    store_missing,
)
from taskmill.runs.automation import (
    ServiceKind,
    ServiceView,
    find_optimizations,
    find_services,
    optimization_view,
    service_view,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
RefArgument = Annotated[str, typer.Argument(help="The service's task id (or a unique prefix).")]
EventsOption = Annotated[int, typer.Option("--events", "-n", help="How many recent events to show.")]

schedules_app = typer.Typer(
    help="Show TaskScheduler services: entries, next runs, fires.", no_args_is_help=True
)
triggers_app = typer.Typer(
    help="Show TriggerScheduler services: triggers, fires, skips.", no_args_is_help=True
)
hpo_app = typer.Typer(help="Show hyper-parameter optimizations and their trials.", no_args_is_help=True)


def _service_json(view: ServiceView, now: float) -> dict[str, Any]:
    return {
        "id": view.task.id,
        "name": view.task.name,
        "project": view.task.project,
        "running": view.running(now),
        "lease_owner": view.lease_owner,
        "next_run": view.next_run,
        "last_fired": view.last_fired,
        "entries": [asdict(e) for e in view.entries],
        "events": [asdict(e) for e in view.events],
    }


def _list_services(ctx: typer.Context, kind: ServiceKind, as_json: bool) -> None:
    cls = "TaskScheduler" if kind == "scheduler" else "TriggerScheduler"
    nothing = f"No {kind}s yet: a script that builds a {cls} and calls start() makes one."
    if store_missing(ctx, as_json, nothing):
        return
    with opened_store(ctx, create=False) as store:
        views = [service_view(t, kind) for t in find_services(store, kind)]
    now = time.time()
    if as_json:
        print_json([_service_json(v, now) for v in views])
        return
    if not views:
        stdout_console().print(nothing)
        return
    table = new_table()
    for column in ("ID", "Name", "Project", "Entries", "Running", "Next run", "Last fired"):
        table.add_column(column)
    for v in views:
        table.add_row(
            short_id(v.task.id),
            v.task.name,
            v.task.project,
            str(len(v.entries)),
            f"yes ({v.lease_owner})" if v.running(now) else "no",
            format_timestamp(v.next_run),
            relative_time(v.last_fired, now),
        )
    stdout_console().print(table)


def _show_service(ctx: typer.Context, kind: ServiceKind, ref: str, events: int, as_json: bool) -> None:
    with opened_store(ctx, create=False) as store:
        view = service_view(resolve_task(store, ref), kind)
    now = time.time()
    if as_json:
        print_json(_service_json(view, now))
        return
    console = stdout_console()
    running = f"running in {view.lease_owner}" if view.running(now) else "not running"
    console.print(
        f"{kind.capitalize()} {view.task.name!r} ({view.task.id}) in {view.task.project}: {running}"
    )
    table = new_table()
    columns = ["Entry", "Next run", "Fired", "Last fired", "Last task"]
    if kind == "trigger":
        columns.remove("Next run")
    for column in columns:
        table.add_column(column)
    for e in view.entries:
        row = [e.name, format_timestamp(e.next_run), str(e.fired), relative_time(e.last_fired, now)]
        row.append(short_id(e.last_task_id) if e.last_task_id else "-")
        if kind == "trigger":
            del row[1]
        table.add_row(*row)
    console.print(table)
    recent = view.events[-events:] if events > 0 else []
    if not recent:
        console.print("No events yet.")
        return
    console.print(f"Last {len(recent)} event(s):")
    log = new_table()
    for column in ("Time", "Entry", "Action", "For", "Task", "Reason"):
        log.add_column(column)
    for ev in reversed(recent):
        log.add_row(
            format_timestamp(ev.time),
            ev.entry,
            ev.action,
            ev.key,
            short_id(ev.task_id) if ev.task_id else "-",
            ev.reason or "-",
        )
    console.print(log)


@schedules_app.command("list")
def list_schedules(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List scheduler services: entries, whether one runs now, the next run and the last fire.

    Examples:

        taskmill schedules list
    """
    _list_services(ctx, "scheduler", as_json)


@schedules_app.command("show")
def show_schedule(
    ctx: typer.Context, ref: RefArgument, events: EventsOption = 20, as_json: JsonOption = False
) -> None:
    """Show a scheduler's entries (next run, fires, last task) and its recent fires and skips.

    Examples:

        taskmill schedules show 1a2b3c4d
    """
    _show_service(ctx, "scheduler", ref, events, as_json)


@triggers_app.command("list")
def list_triggers(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List trigger services: triggers, whether one runs now, the last fire.

    Examples:

        taskmill triggers list
    """
    _list_services(ctx, "trigger", as_json)


@triggers_app.command("show")
def show_trigger(
    ctx: typer.Context, ref: RefArgument, events: EventsOption = 20, as_json: JsonOption = False
) -> None:
    """Show a trigger service's triggers and the recent events they fired for or skipped, and why.

    Examples:

        taskmill triggers show 1a2b3c4d --events 50
    """
    _show_service(ctx, "trigger", ref, events, as_json)


@hpo_app.command("list")
def list_hpo(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List hyper-parameter optimizations with their status.

    Examples:

        taskmill hpo list
    """
    nothing = "No optimizations yet: a script that runs a HyperParameterOptimizer makes one."
    if store_missing(ctx, as_json, nothing):
        return
    with opened_store(ctx, create=False) as store:
        found = find_optimizations(store)
    if as_json:
        print_json(
            [{"id": t.id, "name": t.name, "project": t.project, "status": t.status.value} for t in found]
        )
        return
    if not found:
        stdout_console().print(nothing)
        return
    table = new_table()
    for column in ("ID", "Name", "Project", "Status", "Updated"):
        table.add_column(column)
    now = time.time()
    for t in found:
        table.add_row(
            short_id(t.id), t.name, t.project, status_text(t.status), relative_time(t.last_update, now)
        )
    stdout_console().print(table)


@hpo_app.command("show")
def show_hpo(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="The optimization's task id (or a unique prefix).")],
    top: Annotated[int, typer.Option("--top", help="Show only the best N trials (0: all).")] = 0,
    as_json: JsonOption = False,
) -> None:
    """Show an optimization's objective and its trials (parameters, objective), best first.

    Examples:

        taskmill hpo show 1a2b3c4d --top 10
    """
    with opened_store(ctx, create=False) as store:
        view = optimization_view(store, resolve_task(store, ref))
    trials = view.trials[:top] if top > 0 else view.trials
    if as_json:
        print_json(
            {
                "id": view.task.id,
                "name": view.task.name,
                "status": view.task.status.value,
                "objective": {"title": view.title, "series": view.series, "sign": view.sign},
                "trials": [
                    {
                        "id": t.task.id,
                        "status": t.task.status.value,
                        "parameters": t.parameters,
                        "objective": t.objective,
                    }
                    for t in trials
                ],
            }
        )
        return
    console = stdout_console()
    console.print(
        f"Optimization {view.task.name!r} ({view.task.id}): {view.task.status.label}; "
        f"objective {view.title}/{view.series} ({view.sign}); {len(view.trials)} trial(s)"
    )
    if view.best is not None:
        console.print(f"Best: {view.best.task.id} with {view.best.objective:g}")
    table = new_table()
    for column in ("Trial", "Status", *view.parameter_names, "Objective"):
        table.add_column(column)
    for t in trials:
        table.add_row(
            short_id(t.task.id),
            status_text(t.task.status),
            *(json_text(t.parameters.get(name, "-")) for name in view.parameter_names),
            "-" if t.objective is None else f"{t.objective:g}",
        )
    console.print(table)
