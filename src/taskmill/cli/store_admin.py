"""``taskmill store upgrade`` and ``taskmill store gc``: administer a store beside its database.

``upgrade`` migrates a store's schema explicitly (a shared PostgreSQL database): clients never
migrate a shared database silently; its administrator runs this once per taskmill upgrade.
Idempotent and safe beside running clients (the store's migration lock).

``gc`` removes what killed writers left in the artifact folder (:mod:`taskmill.artifacts.gc`);
``--dry-run`` only lists it. Safe beside live writers (their files are never taken).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated

import typer

from taskmill.cli._common import cli_settings, human_size, new_table, opened_store, stdout_console
from taskmill.core.states import TaskStatus
from taskmill.store.base import TaskFilter
from taskmill.store.sql.migrate import upgrade as upgrade_store
from taskmill.store.sql.store import SqlTaskStore

if TYPE_CHECKING:
    from taskmill.artifacts.gc import Garbage

app = typer.Typer(
    help="Administer a store beside its database (schema upgrades, cleaning up after crashes).",
    no_args_is_help=True,
)


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


@app.command("gc")
def gc(
    ctx: typer.Context,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be removed; remove nothing.")
    ] = False,
    min_age: Annotated[
        float | None,
        typer.Option(
            "--min-age",
            metavar="S",
            help="Only files older than this many seconds qualify (default: one hour).",
        ),
    ] = None,
    artifacts: Annotated[
        str | None,
        typer.Option(
            "--artifacts", metavar="DIR", help="Artifact folder to clean (default: the configured one)."
        ),
    ] = None,
) -> None:
    """Remove what killed writers left in the artifact folder: temporary and unreferenced files.

    Temporary files (.tmp-*) go only when no process holds them open for writing.

    Artifact files go only when no artifact or model record points at them.

    Folders of running or queued tasks are left alone; only files older than --min-age count.

    Run it where the database is (a SQLite or PostgreSQL store), not through a server.

    Examples:

        taskmill store gc --dry-run

        taskmill store gc --min-age 600
    """
    # imported here: the artifact layer pulls in fsspec, which other commands must not pay for
    from taskmill.artifacts.gc import DEFAULT_MIN_AGE, collect

    settings = cli_settings(ctx)
    root = artifacts or settings.artifacts_uri
    with opened_store(ctx, create=False) as store:
        if not isinstance(store, SqlTaskStore):
            raise ValueError(
                f"store gc reads the database itself; run it where the store's database is "
                f"(--store sqlite:///... or postgresql+psycopg://...), not against {settings.store_url}"
            )

        # opening the store failed the tasks of dead local processes, so only live writers remain here
        def look() -> tuple[list[str], list[str]]:
            active = [t.id for t in store.find_tasks(TaskFilter(status=_ACTIVE))]
            return list(store.referenced_uris()), active

        referenced, active = look()
        found = collect(
            root,
            referenced,
            dry_run=dry_run,
            min_age=DEFAULT_MIN_AGE if min_age is None else min_age,
            active=active,
            refresh=look,  # writers that started during the walk keep their files
        )
    _report(found)


_ACTIVE = (TaskStatus.in_progress, TaskStatus.queued)


def _report(found: Garbage) -> None:
    console = stdout_console()
    if found.paths:
        table = new_table()
        table.add_column("kind")
        table.add_column("size", justify="right")
        table.add_column("path")
        kinds = [("temporary", p) for p in found.temporary] + [
            ("unreferenced", p) for p in found.unreferenced
        ]
        for kind, path in kinds:
            table.add_row(
                kind, human_size(_size(path)) if found.dry_run else "", os.path.relpath(path, found.root)
            )
        console.print(table)
    counts = (
        f"{len(found.temporary)} temporary file(s) and {len(found.unreferenced)} unreferenced "
        f"artifact file(s), {human_size(found.size)}, under {found.root}"
    )
    if not found.paths:
        typer.echo(f"Nothing to collect under {found.root}.")
    elif found.dry_run:
        typer.echo(f"Would remove {counts} (dry run: nothing removed; run without --dry-run to remove).")
    else:
        typer.echo(f"Removed {counts}.")


def _size(path: str) -> int:
    try:
        if os.path.isdir(path):
            return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path) for f in files)
        return os.path.getsize(path)
    except OSError:
        return 0
