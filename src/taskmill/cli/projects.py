"""``taskmill projects``: the projects of the store with their task counts."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer

from taskmill.cli._common import (
    format_time,
    new_table,
    opened_store,
    print_json,
    print_note,
    stdout_console,
    store_missing,
)

app = typer.Typer(help="List projects.", no_args_is_help=True)


@app.command("list")
def list_projects(
    ctx: typer.Context,
    show_all: Annotated[
        bool, typer.Option("--all", "-a", help="Include hidden projects (such as x/.pipelines).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List projects by name with how many tasks each holds directly.

    Examples:

        taskmill projects list

        taskmill projects list --all --json
    """
    if store_missing(ctx, as_json, "No projects yet."):
        return
    with opened_store(ctx, create=False) as store:
        found = store.list_projects(include_hidden=show_all)
    if as_json:
        print_json([asdict(p) | {"hidden": p.hidden} for p in found])
        return
    if not found:
        print_note("No projects yet.")
        return
    table = new_table()
    table.add_column("Name", overflow="fold")
    table.add_column("Tasks", justify="right")
    table.add_column("Created", no_wrap=True)
    for p in found:
        table.add_row(p.name, str(p.task_count), format_time(p.created), style="dim" if p.hidden else None)
    stdout_console().print(table)
