"""``taskmill run-remote``: send a script to an agent (ClearML's ``clearml-task``).

Creates a draft task for the script with the SDK's ``Task.create`` (which records the entry point,
working directory and git repository, branch, commit and uncommitted diff, as for a script that
calls ``Task.init``), stores the script's command-line options as ``Args/`` parameters, and
enqueues it. Not atomic: a failure between creating and enqueuing leaves a draft, which the
message names. Returns as soon as the task is queued; it does not wait for it to run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from taskmill.api.task import Task
from taskmill.cli._common import print_note, short_id
from taskmill.cli._sdk import sdk_session
from taskmill.core.states import TaskTypes


def script_args(args: list[str]) -> list[tuple[str, str]]:
    """``--lr 0.1 --epochs=3 --fast`` as ``[("lr", "0.1"), ("epochs", "3"), ("fast", "true")]``.

    Names become argparse destinations (``--batch-size`` is ``batch_size``), which is how a
    script's ``argparse`` options are stored and restored under ``Args/``. Positional values
    have no name to be stored under, so they are refused (ValueError).
    """
    out: list[tuple[str, str]] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("-") or arg in ("-", "--"):
            raise ValueError(
                f"script argument '{arg}' is positional; run-remote passes options only "
                "(--name value or --name=value), which the script reads through argparse"
            )
        name, sep, value = arg.lstrip("-").partition("=")
        if not sep:
            has_value = i + 1 < len(args) and not args[i + 1].startswith("--")
            value = args[i + 1] if has_value else "true"
            i += 1 if has_value else 0
        out.append((name.replace("-", "_"), value))
        i += 1
    return out


def run_remote(
    ctx: typer.Context,
    script: Annotated[
        Path, typer.Argument(metavar="SCRIPT", exists=True, dir_okay=False, help="The Python script to run.")
    ],
    args: Annotated[
        list[str] | None,
        typer.Argument(metavar="[-- ARGS...]", help="The script's options, after `--` (--lr 0.1 ...)."),
    ] = None,
    queue: Annotated[
        str, typer.Option("--queue", "-q", metavar="QUEUE", help="Queue to put the task in.")
    ] = ("default"),
    project: Annotated[
        str, typer.Option("--project", "-p", metavar="PROJECT", help="Project of the task.")
    ] = "default",
    name: Annotated[
        str | None,
        typer.Option("--name", "-n", metavar="NAME", help="Task name (default: the script's name)."),
    ] = None,
    task_type: Annotated[
        TaskTypes, typer.Option("--type", metavar="TYPE", help="Task type: training, testing, ...")
    ] = TaskTypes.training,
    requirements: Annotated[
        Path | None,
        typer.Option(
            "--requirements", metavar="FILE", exists=True, dir_okay=False, help="Packages the task needs."
        ),
    ] = None,
    packages: Annotated[
        list[str] | None,
        typer.Option(
            "--packages", metavar="REQ", help="A package the task needs (repeatable), e.g. numpy<2."
        ),
    ] = None,
) -> None:
    """Create a task for SCRIPT (its code, git repository and options) and enqueue it for an agent.

    The script's options after `--` are stored as Args/ parameters, which the script's argparse
    reads back when it calls Task.init. Prints the new task's id; follow it with
    `taskmill tasks logs ID --follow`.

    Examples:

        taskmill run-remote train.py --queue default -- --lr 0.01 --epochs 5

        taskmill run-remote train.py -q gpu --project mnist --name "lr 0.01" --requirements requirements.txt
    """
    if requirements and packages:
        raise typer.BadParameter("give --requirements or --packages, not both", param_hint="--packages")
    options = script_args(args or [])
    with sdk_session(ctx) as session:
        task = Task.create(
            project_name=project,
            task_name=name or script.stem,
            task_type=task_type,
            script=str(script),
            packages=packages or None,
            requirements_file=requirements,
            argparse_args=options,
        )
        try:
            Task.enqueue(task, queue_name=queue)
        except Exception:
            print_note(f"Task {task.id} was created but not queued: it stays a draft.")
            raise
        info = session.store.get_task(task.id).script
    repo = f" from {info.repository}@{info.commit[:10]}" if info.repository and info.commit else ""
    print_note(f"Task {task.name} ({short_id(task.id)}){repo} queued in '{queue}'.")
    print_note(f"Follow it: taskmill tasks logs {short_id(task.id)} --follow")
    typer.echo(task.id)
