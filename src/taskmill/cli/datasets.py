"""``taskmill datasets``: versioned datasets from the shell (ClearML's ``clearml-data``).

A thin layer over :class:`taskmill.api.dataset.Dataset`: ``create`` makes a mutable version,
``add`` records files and stores their bytes at once (so ``finalize`` can run from another shell
or machine), ``finalize`` makes the version read-only, ``list`` and ``get`` read finalized ones.
Every command is blocking and prints the dataset id or path on stdout (notes go to stderr).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from taskmill.api.dataset import Dataset
from taskmill.api.session import PROCESS
from taskmill.cli._common import (
    format_time,
    human_size,
    new_table,
    print_json,
    print_note,
    resolve_task,
    short_id,
    stdout_console,
    store_missing,
)
from taskmill.cli._sdk import sdk_session

app = typer.Typer(
    help="Create, fill, finalize, list and download versioned datasets (ClearML's clearml-data).",
    no_args_is_help=True,
)

DatasetRef = Annotated[
    str, typer.Argument(metavar="ID", help="Dataset version id, or a unique prefix of 4+ characters.")
]


def _open(ref: str) -> Dataset:
    """The dataset version ``ref`` (an id or unique id prefix) in the current SDK session."""
    return Dataset.get(dataset_id=resolve_task(PROCESS.session().store, ref).id)


def _label(ds: Dataset) -> str:
    return f"'{ds.name}' {ds.version} ({short_id(ds.id)})"


@app.command("create")
def create(
    ctx: typer.Context,
    project: Annotated[str, typer.Option("--project", "-p", metavar="PROJECT", help="Dataset project.")],
    name: Annotated[str, typer.Option("--name", "-n", metavar="NAME", help="Dataset name.")],
    parents: Annotated[
        list[str] | None,
        typer.Option("--parent", metavar="ID", help="Finalized version to start from (repeatable)."),
    ] = None,
    tags: Annotated[
        list[str] | None, typer.Option("--tag", "-t", metavar="TAG", help="Tag (repeatable).")
    ] = None,
    version: Annotated[
        str | None,
        typer.Option("--version", metavar="X.Y.Z", help="Version (default: the last one, bumped)."),
    ] = None,
    description: Annotated[str | None, typer.Option("--description", metavar="TEXT")] = None,
) -> None:
    """Create a new, mutable dataset version and print its id.

    With --parent the version starts with the parents' files (only changes are stored again).

    Examples:

        taskmill datasets create --project data --name iris

        taskmill datasets create -p data -n iris --parent 3f2a9c01
    """
    with sdk_session(ctx) as session:
        parent_ids = [resolve_task(session.store, p).id for p in parents or ()]
        ds = Dataset.create(
            dataset_name=name,
            dataset_project=project,
            dataset_tags=tags,
            parent_datasets=parent_ids,
            dataset_version=version,
            description=description,
        )
    print_note(
        f"Created dataset {_label(ds)}; add files with `taskmill datasets add {short_id(ds.id)} PATH`."
    )
    typer.echo(ds.id)


@app.command("add")
def add(
    ctx: typer.Context,
    dataset_id: DatasetRef,
    paths: Annotated[list[Path], typer.Argument(metavar="PATH...", help="Files or folders to add.")],
    dataset_path: Annotated[
        str | None,
        typer.Option("--dataset-path", metavar="DIR", help="Folder inside the dataset to put them in."),
    ] = None,
    wildcard: Annotated[
        list[str] | None, typer.Option("--wildcard", metavar="GLOB", help="Only matching files (repeatable).")
    ] = None,
) -> None:
    """Add files or folders to a mutable version and store their bytes.

    Files identical (same path and content) to those already in the version or its parents are
    not stored again.

    Examples:

        taskmill datasets add 3f2a9c01 ./data

        taskmill datasets add 3f2a9c01 ./images --dataset-path images --wildcard "*.png"
    """
    with sdk_session(ctx):
        ds = _open(dataset_id)
        added = sum(ds.add_files(p, wildcard=wildcard, dataset_path=dataset_path) for p in paths)
        ds.upload(preview=False)
    typer.echo(f"Added {added} new or changed file(s) to dataset {_label(ds)}.")


@app.command("finalize")
def finalize(ctx: typer.Context, dataset_id: DatasetRef) -> None:
    """Make a version read-only (files still pending are stored first); it can then be read.

    Example:

        taskmill datasets finalize 3f2a9c01
    """
    with sdk_session(ctx):
        ds = _open(dataset_id)
        ds.finalize(auto_upload=True)
        count = len(ds.file_entries_dict)
    typer.echo(f"Finalized dataset {_label(ds)}: {count} file(s).")


@app.command("list")
def list_datasets(
    ctx: typer.Context,
    project: Annotated[
        str | None, typer.Option("--project", "-p", metavar="PROJECT", help="Only this project (and below).")
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", "-n", metavar="TEXT", help="Only names containing this.")
    ] = None,
    tags: Annotated[
        list[str] | None, typer.Option("--tag", "-t", metavar="TAG", help="Only with this tag.")
    ] = None,
    include_drafts: Annotated[
        bool, typer.Option("--all", help="Include versions not finalized yet.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List dataset versions, newest first (finalized ones unless --all).

    Examples:

        taskmill datasets list --project data

        taskmill datasets list --name iris --all --json
    """
    if store_missing(ctx, as_json, "No datasets match."):
        return
    with sdk_session(ctx, create=False):
        rows: list[dict[str, Any]] = Dataset.list_datasets(
            dataset_project=project, partial_name=name, tags=tags, only_completed=not include_drafts
        )
    if as_json:
        print_json(rows)
        return
    if not rows:
        print_note("No datasets match." + ("" if include_drafts else " (--all includes unfinalized ones)"))
        return
    table = new_table()
    for column in ("ID", "Project", "Name", "Version", "Tags", "Created"):
        table.add_column(column, no_wrap=column in ("ID", "Version", "Created"))
    for row in rows:
        table.add_row(
            short_id(row["id"]),
            row["project"],
            row["name"],
            str(row["version"]),
            ", ".join(row["tags"]) or "-",
            format_time(row["created"].timestamp()),
        )
    stdout_console().print(table)


@app.command("get")
def get(
    ctx: typer.Context,
    dataset_id: Annotated[
        str | None, typer.Argument(metavar="[ID]", help="Version id or prefix (or use --project/--name).")
    ] = None,
    project: Annotated[str | None, typer.Option("--project", "-p", metavar="PROJECT")] = None,
    name: Annotated[str | None, typer.Option("--name", "-n", metavar="NAME")] = None,
    version: Annotated[str | None, typer.Option("--version", metavar="X.Y.Z")] = None,
    to: Annotated[
        Path | None,
        typer.Option("--to", metavar="DIR", help="Copy the files into DIR (writable) instead of the cache."),
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="With --to: replace a non-empty DIR.")
    ] = False,
) -> None:
    """Download a finalized version (the newest of --project/--name without ID) and print its folder.

    Without --to the folder is a read-only cache shared by later calls; --to makes a writable copy.

    Examples:

        taskmill datasets get 3f2a9c01

        taskmill datasets get --project data --name iris --to ./iris
    """
    if not dataset_id and not name:
        raise typer.BadParameter("give a dataset ID, or --name (and --project)", param_hint="ID")
    started = time.monotonic()
    with sdk_session(ctx, create=False):
        if dataset_id:
            ds = _open(dataset_id)
        else:
            ds = Dataset.get(
                dataset_project=project, dataset_name=name, dataset_version=version, only_completed=True
            )
        folder = ds.get_mutable_local_copy(to, overwrite=overwrite) if to else ds.get_local_copy()
        size = sum(int(e.get("size", 0)) for e in ds.file_entries_dict.values())
    files = len(ds.file_entries_dict)
    print_note(
        f"dataset {_label(ds)}: {files} file(s), {human_size(size)} in {time.monotonic() - started:.1f} s"
    )
    typer.echo(folder)
