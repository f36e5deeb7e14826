"""``taskmill queues``: list, create and delete the queues agents take tasks from."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer

from taskmill.cli._common import format_time, new_table, opened_store, print_json, print_note, stdout_console
from taskmill.errors import ConflictError, QueueNotFoundError

app = typer.Typer(help="List, create and delete queues.", no_args_is_help=True)


@app.command("list")
def list_queues(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List queues with how many tasks wait in each.

    Examples:

        taskmill queues list

        taskmill queues list --json
    """
    with opened_store(ctx) as store:
        found = store.list_queues()
    if as_json:
        print_json([asdict(q) for q in found])
        return
    if not found:
        print_note("No queues yet; create one with `taskmill queues create NAME`.")
        return
    table = new_table()
    table.add_column("Name", overflow="fold")
    table.add_column("Depth", justify="right")
    table.add_column("Created", no_wrap=True)
    for q in found:
        table.add_row(q.name, str(q.depth), format_time(q.created))
    stdout_console().print(table)


@app.command("create")
def create_queue(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Name of the new queue.")],
) -> None:
    """Create a queue (does nothing if it already exists).

    Example:

        taskmill queues create gpu
    """
    with opened_store(ctx) as store:
        try:
            store.get_queue(name)
        except QueueNotFoundError:
            queue = store.create_queue(name)
            typer.echo(f"Created queue '{queue.name}' (id {queue.id}).")
        else:
            typer.echo(f"Queue '{name}' already exists.")


@app.command("delete")
def delete_queue(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Name of the queue to delete.")],
    force: Annotated[
        bool, typer.Option("--force", help="Delete even if tasks wait in it (they go back to draft).")
    ] = False,
) -> None:
    """Delete a queue; refuses while tasks wait in it unless --force.

    Examples:

        taskmill queues delete gpu

        taskmill queues delete gpu --force
    """
    with opened_store(ctx) as store:
        try:
            store.delete_queue(name, force=force)
        except ConflictError as exc:
            # The store's message speaks of "force" generically; name the CLI option.
            raise ConflictError(f"{exc}: `taskmill queues delete {name} --force`") from exc
    typer.echo(f"Deleted queue '{name}'.")
