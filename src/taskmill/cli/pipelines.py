"""``taskmill pipelines``: list pipelines and runs, show a run's DAG, explain cache decisions,
resume a failed or aborted run, abort a running one.

The data comes from :mod:`taskmill.runs.commands` (shared with the web UI) and is drawn
by :mod:`taskmill.cli._pipeline_render`; this module parses arguments and wires the two together.
"""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.text import Text

from taskmill.cli._common import (
    cli_settings,
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
)
from taskmill.cli._pipeline_render import (
    count_text,
    progress_bar,
    render_explanation,
    run_header,
    steps_table,
    steps_tree,
)
from taskmill.core.states import TaskStatus
from taskmill.runs import commands
from taskmill.runs.editing import param_updates
from taskmill.store.base import TaskFilter

app = typer.Typer(help="List, inspect, resume and abort pipeline runs.", no_args_is_help=True)

RunRef = Annotated[str, typer.Argument(metavar="RUN", help="Run id, or a unique prefix of 4+ characters.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]

# -- list / runs ---------------------------------------------------------------------------------


@app.command("list")
def list_pipelines(ctx: typer.Context, as_json: AsJson = False) -> None:
    """List pipelines with their run counts, most recently run first.

    Examples:

        taskmill pipelines list

        taskmill pipelines list --json
    """
    if store_missing(ctx, as_json, "No pipelines yet: run a script that uses PipelineController."):
        return
    with opened_store(ctx, create=False) as store:
        pipes = commands.list_pipelines(store)
    if as_json:
        print_json([p.to_dict() for p in pipes])
        return
    if not pipes:
        print_note("No pipelines yet: run a script that uses PipelineController.")
        return
    table = new_table()
    for col in ("Pipeline", "Project", "Runs", "Last run", "Running", "Pending", "Completed", "Failed"):
        table.add_column(col, justify="left" if col in ("Pipeline", "Project", "Last run") else "right")
    table.add_column("Aborted", justify="right")
    table.add_column("Version")
    table.add_column("Tags", overflow="fold")
    now = time.time()
    for p in pipes:
        c = p.counts
        table.add_row(
            p.name,
            p.project,
            str(p.runs),
            relative_time(p.last_run, now),
            count_text(c.get("running", 0), "bold blue"),
            count_text(c.get("pending", 0), "yellow"),
            count_text(c.get("completed", 0), "green"),
            count_text(c.get("failed", 0), "bold red"),
            count_text(c.get("aborted", 0), "magenta"),
            p.latest_version or "-",
            ", ".join(p.tags) or "-",
        )
    stdout_console().print(table)


@app.command("runs")
def list_runs(
    ctx: typer.Context,
    pipeline: Annotated[str, typer.Argument(metavar="PIPELINE", help="Pipeline name (as in `list`).")],
    project: Annotated[
        str | None,
        typer.Option(
            "--project", "-p", metavar="PROJECT", help="The pipeline's project, when its name is not unique."
        ),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """List the runs of a pipeline, newest first, with their progress.

    Examples:

        taskmill pipelines runs "train model"

        taskmill pipelines runs etl --project warehouse --json
    """
    with opened_store(ctx, create=False) as store:
        runs = commands.list_runs(store, project, pipeline)
    if as_json:
        print_json([r.to_dict() for r in runs])
        return
    table = new_table()
    for col in ("ID", "Run", "Version", "Status", "Progress", "Started", "Duration", "Tags"):
        table.add_column(col, no_wrap=col != "Tags", justify="right" if col == "Duration" else "left")
    for r in runs:
        table.add_row(
            short_id(r.id),
            r.name,
            r.version or "-",
            status_text(r.status),
            progress_bar(r.done, r.total, r.status),
            format_time(r.started),
            format_duration(r.duration),
            ", ".join(r.tags) or "-",
        )
    stdout_console().print(table)


# -- show ----------------------------------------------------------------------------------------


@app.command("show")
def show_run(
    ctx: typer.Context,
    run: RunRef,
    tree: Annotated[bool, typer.Option("--tree", help="Draw the steps as a tree by parents.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document instead.")] = False,
) -> None:
    """Show a run: status, parameters and every step (in dependency order).

    Step symbols: ✓ completed  ≡ cached  ✗ failed  ■ aborted  … running  ◌ queued  ○ pending  ↷ skipped

    Examples:

        taskmill pipelines show 5607d790

        taskmill pipelines show 5607d790 --tree
    """
    with opened_store(ctx, create=False) as store:
        detail = commands.run_detail(store, resolve_task(store, run).id)
        # the steps' own tasks: their start and end tell waiting from running
        ids = tuple(s.task_id for s in detail.steps if s.task_id)
        tasks = {t.id: t for t in store.find_tasks(TaskFilter(ids=ids))} if ids and not as_json else {}
    if as_json:
        print_json(detail.to_dict())
        return
    console = stdout_console()
    console.print(Text.assemble((detail.summary.name, "bold"), "  ", (detail.summary.id, "cyan")))
    console.print(run_header(detail))
    console.print()
    console.print(steps_tree(detail, tasks) if tree else steps_table(detail, tasks))


# -- explain -------------------------------------------------------------------------------------


@app.command("explain")
def explain(
    ctx: typer.Context,
    run: RunRef,
    step: Annotated[str, typer.Argument(metavar="STEP", help="Step name.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document instead.")] = False,
) -> None:
    """Explain a step's cache decision: hit (which task was reused), miss (what changed since
    the run it was compared to), disabled or forced.

    Examples:

        taskmill pipelines explain 5607d790 train

        taskmill pipelines explain 5607d790 train --json
    """
    with opened_store(ctx, create=False) as store:
        data = commands.explain_step(store, resolve_task(store, run).id, step)
    if as_json:
        print_json(data)
    else:
        render_explanation(stdout_console(), data)


# -- resume / abort ------------------------------------------------------------------------------


def _params(values: list[str]) -> dict[str, str]:
    out = {}
    for value in values:
        key, sep, text = value.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"'{value}' is not KEY=VALUE", param_hint="--param")
        out[key.strip()] = text
    return out


@app.command("resume")
def resume(
    ctx: typer.Context,
    run: RunRef,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", metavar="KEY=VALUE", help="Change a pipeline parameter first (repeatable)."),
    ] = None,
    recompute: Annotated[
        list[str] | None,
        typer.Option("--recompute", metavar="STEP", help="Run this step again even if cached (repeatable)."),
    ] = None,
    recompute_all: Annotated[
        bool, typer.Option("--recompute-all", help="Ignore the cache for every step.")
    ] = False,
    mode: Annotated[
        str | None,
        typer.Option(
            "--mode", metavar="MODE", help="Run steps as processes ('process') or in one ('debug')."
        ),
    ] = None,
    queue: Annotated[
        str | None,
        typer.Option("--queue", metavar="QUEUE", help="Resume it on an agent serving this queue instead."),
    ] = None,
) -> None:
    """Continue a failed, aborted or interrupted run: its script runs again attached to the run;
    completed steps are kept and the others run. Exits 0 only if the run then completed.

    Examples:

        taskmill pipelines resume 5607d790

        taskmill pipelines resume 5607d790 --param lr=0.01 --recompute train --mode process
    """
    overrides = _params(param or [])
    with opened_store(ctx) as store:
        run_id = resolve_task(store, run).id
        if queue:
            if overrides:
                store.set_params(run_id, param_updates(store.get_params(run_id), overrides))
            queued = commands.enqueue_resume(store, run_id, queue)
            print_note(f"Run {queued.name} ({queued.id}) is queued on '{queue}' to resume")
            return

        def announce(plan: commands.ResumePlan) -> None:
            print_note(f"Resuming {plan.run.name} ({plan.run.id}): {' '.join(plan.command)}  (in {plan.cwd})")

        code = commands.resume_run(
            store,
            run_id,
            env=cli_settings(ctx).to_env(),
            params=overrides,
            recompute=True if recompute_all else list(recompute or []),
            mode=mode,
            announce=announce,
        )
        record = store.get_task(run_id)
    reason = record.status_reason or record.status_message
    note = f": {reason}" if reason and reason != record.status.value else ""
    print_note(f"Run {record.name} ({short_id(record.id)}) is {record.status.label}{note}")
    if code or record.status != TaskStatus.completed:
        raise typer.Exit(code=code or 1)


@app.command("new-run")
def new_run(
    ctx: typer.Context,
    run: RunRef,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", metavar="KEY=VALUE", help="Change a pipeline parameter (repeatable)."),
    ] = None,
    mode: Annotated[
        str | None,
        typer.Option(
            "--mode", metavar="MODE", help="Run steps as processes ('process') or in one ('debug')."
        ),
    ] = None,
    queue: Annotated[
        str | None,
        typer.Option("--queue", metavar="QUEUE", help="Put the new run on this queue for an agent instead."),
    ] = None,
) -> None:
    """Start a new run of a run's pipeline with changed parameters (ClearML's NEW RUN): the run is
    cloned, the parameters edited, and its script runs here for the new run (exits 0 if it
    completed), or with --queue the new run goes to that queue for an agent (e.g. services).

    Examples:

        taskmill pipelines new-run 5607d790 --param n=10

        taskmill pipelines new-run 5607d790 --param lr=0.01 --mode debug

        taskmill pipelines new-run 5607d790 --param n=10 --queue services
    """
    overrides = _params(param or [])
    with opened_store(ctx) as store:
        source = resolve_task(store, run).id
        if queue:
            queued = commands.enqueue_run(store, source, queue, params=overrides)
            print_note(f"Run {queued.name} ({queued.id}) is queued on '{queue}'")
            return

        def announce(plan: commands.ResumePlan) -> None:
            print_note(f"Starting {plan.run.name} ({plan.run.id}): {' '.join(plan.command)}  (in {plan.cwd})")

        new_id, code = commands.new_run(
            store, source, env=cli_settings(ctx).to_env(), params=overrides, mode=mode, announce=announce
        )
        record = store.get_task(new_id)
    print_note(f"Run {record.name} ({short_id(record.id)}) is {record.status.label}")
    if code or record.status != TaskStatus.completed:
        raise typer.Exit(code=code or 1)


@app.command("abort")
def abort(ctx: typer.Context, run: RunRef) -> None:
    """Abort a running run: its controller is asked to stop (running steps are aborted, the rest
    skipped); a run whose controller is gone is marked aborted directly.

    Examples:

        taskmill pipelines abort 5607d790
    """
    with opened_store(ctx) as store:
        message = commands.abort_run(store, resolve_task(store, run).id)
    typer.echo(message)
