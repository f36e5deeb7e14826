"""Shared plumbing of the CLI: the per-invocation state, opening the store, output and formatting.

Nothing here keeps module-level mutable state: each command receives a :class:`CliState` through
the typer context, opens its own store and builds its own consoles, so commands can be invoked
many times in one process (tests do exactly that).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from taskmill.config import Settings
from taskmill.core import humanize
from taskmill.core.model import TaskRecord, looks_like_id
from taskmill.core.states import TaskStatus
from taskmill.errors import TaskNotFoundError
from taskmill.store.base import TaskFilter, TaskStore
from taskmill.store.factory import open_store

#: Width assumed when stdout is not a terminal (rich would otherwise use 80).
PIPE_WIDTH = 240
#: Shortest id prefix accepted: shorter ones would match too many tasks to be useful.
MIN_PREFIX = 4
#: How many characters of an id the tables show (enough to be unique in practice, and to paste).
SHORT_ID = 8

STATUS_STYLES: dict[TaskStatus, str] = {
    TaskStatus.created: "dim",
    TaskStatus.queued: "yellow",
    TaskStatus.in_progress: "bold blue",
    TaskStatus.stopped: "magenta",
    TaskStatus.completed: "green",
    TaskStatus.failed: "bold red",
    TaskStatus.published: "bold green",
}


@dataclass(frozen=True, slots=True)
class CliState:
    """What the root callback hands to every command through ``ctx.obj``."""

    store_url: str | None = None  #: ``--store``; overrides ``TASKMILL_STORE`` and the config file


def cli_state(ctx: typer.Context) -> CliState:
    """The state set by the root callback (a default one when a command is invoked on its own)."""
    # click copies the parent's ``obj`` into child contexts, so sub-commands see the root's state.
    return ctx.obj if isinstance(ctx.obj, CliState) else CliState()


def cli_settings(ctx: typer.Context) -> Settings:
    """Settings of this invocation: the environment and config file, with ``--store`` applied.

    Read per command rather than in the root callback so that ``--help`` works even when the
    environment or config file is broken.
    """
    settings = Settings.from_env()
    override = cli_state(ctx).store_url
    return settings.with_(store_url=override) if override else settings


def sqlite_file(url: str) -> Path | None:
    """The database file of a ``sqlite:///`` URL; None for other stores and in-memory SQLite."""
    if not url.startswith("sqlite:///"):
        return None
    path = url[len("sqlite:///") :].split("?", 1)[0]
    return None if not path or path == ":memory:" else Path(path)


def require_store(settings: Settings) -> None:
    """Raise a one-line ValueError when the settings name a SQLite store whose file is missing
    (read-only commands must not create an empty store as a side effect)."""
    path = sqlite_file(settings.store_url)
    if path is not None and not path.exists():
        raise ValueError(
            f"no store at {path} yet (nothing has been tracked here); run a script that calls "
            "Task.init or `taskmill dev`, or point --store / TASKMILL_STORE at an existing store"
        )


def store_missing(ctx: typer.Context, as_json: bool, nothing: str) -> bool:
    """For list commands: when the store file does not exist, print what an empty store lists
    (``[]`` with ``--json``, else the ``nothing`` note and where no store was found) and return
    True, creating nothing; else return False."""
    path = sqlite_file(cli_settings(ctx).store_url)
    if path is None or path.exists():
        return False
    if as_json:
        print_json([])
    else:
        print_note(f"{nothing} (no store at {path} yet: nothing has been tracked here)")
    return True


@contextmanager
def opened_store(ctx: typer.Context, *, create: bool = True) -> Iterator[TaskStore]:
    """Open the store this invocation points at and close it when the command ends.

    ``create=False`` (read-only commands): a SQLite store whose file does not exist is not
    created; a ValueError (one line naming the file and the fix) is raised instead.
    """
    settings = cli_settings(ctx)
    if not create:
        require_store(settings)
    store = open_store(settings.store_url, settings.api_key or None, retry_for=5)
    try:
        yield store
    finally:
        store.close()


# -- output ------------------------------------------------------------------------------------


def stdout_console() -> Console:
    """A console on the current stdout for tables and detail views.

    Cells hold user data (task names, parameter values, URIs), so rich markup and emoji codes
    are off: ``[debug]`` or ``:tada:`` in a name must print as typed. Styling goes through
    :class:`~rich.text.Text` objects instead. ``highlight=False`` keeps ids and numbers plain.
    """
    console = Console(highlight=False, markup=False, emoji=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        # Piped output goes to grep, awk or a file: rich would squeeze it into 80 columns and
        # wrap cells over several lines, so give tables room for their natural width instead.
        console.width = PIPE_WIDTH
    return console


def print_json(data: Any) -> None:
    """Print one JSON document (no rich styling: the output is meant for programs)."""
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def print_error(message: str) -> None:
    """Print an error in red on stderr, without rich markup (messages may contain brackets)."""
    Console(stderr=True, highlight=False).print(Text(f"Error: {message}", style="red"), soft_wrap=True)


def print_note(message: str) -> None:
    """Print a dim side note on stderr, so stdout stays clean for pipes."""
    Console(stderr=True, highlight=False).print(Text(message, style="dim"), soft_wrap=True)


def new_table() -> Table:
    """A borderless table with a bold, underlined header row: easy to read and to grep."""
    return Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")


# -- formatting --------------------------------------------------------------------------------


def short_id(task_id: str) -> str:
    """The first :data:`SHORT_ID` characters of an id."""
    return task_id[:SHORT_ID]


def status_text(status: TaskStatus) -> Text:
    """The status label (Draft, Running, ...) in its colour."""
    return Text(status.label, style=STATUS_STYLES[status])


def format_time(ts: float | None) -> str:
    """Local date and time to the minute, or ``-``."""
    if not ts:
        return "-"
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


def format_timestamp(ts: float | None) -> str:
    """Local date and time to the second, or ``-`` (for detail views)."""
    if not ts:
        return "-"
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


def relative_time(ts: float | None, now: float | None = None) -> str:
    """``3 min ago`` style age of ``ts``; ``-`` when unset."""
    return humanize.age(ts, now) or "-"


def format_duration(seconds: float | None) -> str:
    """``45s``, ``3m 05s``, ``2h 03m``, ``1d 04h``; ``-`` when unknown."""
    return humanize.duration(seconds) or "-"


def task_duration(task: TaskRecord, now: float | None = None) -> float | None:
    """How long the task ran (so far, while it is still running); None if it never started."""
    if task.started is None:
        return None
    if task.completed is not None:
        return task.completed - task.started
    if task.status.is_final:  # ended without a completion time: the length is unknown
        return None
    return (time.time() if now is None else now) - task.started


def human_size(size: int) -> str:
    """``512 B``, ``1.5 KiB``, ``20.0 MiB`` (binary units, as file managers show them)."""
    if size < 1024:
        return f"{size} B"
    value = size / 1024
    units = ["KiB", "MiB", "GiB", "TiB"]
    while value >= 1024 and len(units) > 1:
        value /= 1024
        units.pop(0)
    return f"{value:.1f} {units[0]}"


def short_hash(value: str) -> str:
    """``sha256:0123abcd`` from a full ``sha256:<hex>`` (or the first 8 characters of a bare hash)."""
    if not value:
        return "-"
    algo, sep, digest = value.partition(":")
    return f"{algo}:{digest[:8]}" if sep else value[:8]


def json_text(value: object) -> str:
    """A parameter value as people type it: strings bare, everything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


# -- ids ---------------------------------------------------------------------------------------


def resolve_task(store: TaskStore, ref: str) -> TaskRecord:
    """The task whose id is ``ref`` or starts with it (a unique prefix of >= 4 characters).

    Prefixes are case-insensitive, as ids are lowercase hex. Raises TaskNotFoundError when nothing
    matches (or the prefix is too short) and ValueError for an ambiguous prefix, listing the
    candidates.
    """
    ref = ref.strip()
    try:
        return store.get_task(ref)
    except TaskNotFoundError:
        if looks_like_id(ref):
            raise  # a whole id: no other task can start with it
    prefix = ref.lower()
    if looks_like_id(prefix):
        return store.get_task(prefix)  # a whole id typed in upper case
    if len(prefix) < MIN_PREFIX:
        raise TaskNotFoundError(ref, hint=f"id prefixes need at least {MIN_PREFIX} characters")
    # The store has no prefix filter, so scan ids; fine for the sizes a CLI user browses.
    matches = [t for t in store.find_tasks(TaskFilter(order="-created")) if t.id.startswith(prefix)]
    if not matches:
        raise TaskNotFoundError(ref, hint="and no task id starts with it")
    if len(matches) > 1:
        shown = "\n".join(f"  {t.id}  {t.name}  ({t.project}, {t.status.label})" for t in matches[:10])
        more = f"\n  ... and {len(matches) - 10} more" if len(matches) > 10 else ""
        raise ValueError(
            f"task id prefix '{ref}' is ambiguous: it matches {len(matches)} tasks; "
            f"give more characters:\n{shown}{more}"
        )
    return matches[0]
