"""``taskmill store upgrade``: migrate a store's schema explicitly (a shared PostgreSQL database).

Clients never migrate a shared database silently; its administrator runs this once per
taskmill upgrade. Idempotent and safe beside running clients (the store's migration lock).
"""

from __future__ import annotations

from typing import Annotated

import typer

from taskmill.cli._common import cli_settings
from taskmill.store.sql.migrate import upgrade as upgrade_store

app = typer.Typer(help="Administer a store's database (schema upgrades).", no_args_is_help=True)


@app.command("upgrade")
def upgrade(
    ctx: typer.Context,
    url: Annotated[
        str | None,
        typer.Argument(metavar="[URL]", help="Store URL (default: --store / TASKMILL_STORE / config)."),
    ] = None,
) -> None:
    """Migrate the store's schema to this taskmill's version (creates it in an empty database).

    Examples:

        taskmill store upgrade postgresql+psycopg://tm@db/taskmill

        taskmill --store sqlite:////data/store.db store upgrade
    """
    target = url or cli_settings(ctx).store_url
    before, after = upgrade_store(target)
    if before == after:
        typer.echo(f"Store schema is current (revision {after}); nothing to do.")
    else:
        typer.echo(f"Upgraded the store schema from revision {before or 'none (empty)'} to {after}.")
