"""``taskmill tasks abort|clone|delete|archive`` and ``tasks artifacts get``: act on one task.

Mounted on the ``tasks`` group by :mod:`.tasks`. Each command changes the store once and prints
one line saying what it did. ``abort`` of a running task marks it stopped (shown as Aborted): the
agent running it sees that and kills its process; a pipeline run is aborted through its
controller (as ``taskmill pipelines abort``). ``clone`` and ``delete`` are the SDK's
``Task.clone`` / ``Task.delete``, so they copy and remove exactly what the SDK does.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer

from taskmill.api.task import Task
from taskmill.cli._common import opened_store, print_json, print_note, resolve_task, short_id
from taskmill.cli._sdk import sdk_session
from taskmill.core.model import TaskRecord
from taskmill.core.states import TaskStatus
from taskmill.errors import ConflictError, NotFoundError
from taskmill.runs.commands import abort_run

TaskRef = Annotated[str, typer.Argument(metavar="ID", help="Task id, or a unique prefix of 4+ characters.")]

#: System tag of archived tasks (the SDK's ``Task.set_archived`` and the web UI use it).
ARCHIVED = "archived"

artifacts_app = typer.Typer(help="Download a task's artifacts.", no_args_is_help=True)


def _label(task: TaskRecord) -> str:
    return f"{task.name} ({short_id(task.id)})"


def abort_task(ctx: typer.Context, task_id: TaskRef) -> None:
    """Abort a queued or running task (it ends as Aborted).

    A queued task leaves its queue; a running one is marked stopped and the agent running it
    kills its process. A pipeline run is aborted with its running steps.

    Examples:

        taskmill tasks abort 3f2a9c01
    """
    with opened_store(ctx) as store:
        task = resolve_task(store, task_id)
        if "pipeline" in task.system_tags:
            typer.echo(abort_run(store, task.id))
            return
        if task.status.is_final:
            typer.echo(f"Task {_label(task)} already ended: {task.status.label}; nothing to abort.")
            return
        if task.status == TaskStatus.created:
            raise ValueError(
                f"task {_label(task)} is a draft: it never started, so there is nothing to abort"
            )
        was = task.status
        store.set_status(
            task.id,
            TaskStatus.stopped,
            message="aborted by user (taskmill tasks abort)",
            reason="aborted by user",
            expected=(was,),
        )
    if was == TaskStatus.queued:
        where = "removed from its queue"
    elif task.worker and task.worker != "local":
        where = f"agent {task.worker} stops its process"
    else:
        where = "marked stopped; it runs outside an agent, so stop its process there"
    typer.echo(f"Aborted task {_label(task)} (was {was.label}; {where}).")


def clone_task(
    ctx: typer.Context,
    task_id: TaskRef,
    name: Annotated[
        str | None, typer.Option("--name", metavar="NAME", help="Name of the copy (default: the same).")
    ] = None,
    project: Annotated[
        str | None,
        typer.Option("--project", metavar="PROJECT", help="Project of the copy (default: the same)."),
    ] = None,
    queue: Annotated[
        str | None, typer.Option("--queue", metavar="QUEUE", help="Enqueue the copy in this queue.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the new task as JSON.")] = False,
) -> None:
    """Copy a task as a new draft: script, parameters, configuration, tags (not its outputs).

    Edit the copy with `taskmill tasks set-param`, then enqueue it (or give --queue).

    Examples:

        taskmill tasks clone 3f2a9c01 --name "lr sweep 2"

        taskmill tasks clone 3f2a9c01 --queue default
    """
    with sdk_session(ctx) as session:
        source = resolve_task(session.store, task_id)
        copy = Task.clone(source.id, name=name, project=project)
        if queue:
            Task.enqueue(copy, queue_name=queue)
        record = session.store.get_task(copy.id)
    if as_json:
        print_json(record.to_dict())
        return
    where = f" and queued it in '{queue}'" if queue else " (a draft)"
    typer.echo(f"Cloned {_label(source)} as task {record.id}{where}.")
    typer.echo(record.id)


def delete_task(
    ctx: typer.Context,
    task_id: TaskRef,
    force: Annotated[
        bool, typer.Option("--force", help="Delete even a queued or running task (it is not stopped first).")
    ] = False,
    keep_artifacts: Annotated[
        bool, typer.Option("--keep-artifacts", help="Keep the artifact files; delete only the records.")
    ] = False,
) -> None:
    """Delete a task with its records (parameters, logs, scalars, artifacts and their files).

    Queued and running tasks are refused unless --force: abort them first.

    Examples:

        taskmill tasks delete 3f2a9c01

        taskmill tasks delete 3f2a9c01 --keep-artifacts
    """
    with sdk_session(ctx) as session:
        task = resolve_task(session.store, task_id)
        if task.status in (TaskStatus.queued, TaskStatus.in_progress) and not force:
            raise ConflictError(
                f"task {_label(task)} is {task.status.label}; abort it first "
                f"(`taskmill tasks abort {short_id(task.id)}`) or give --force"
            )
        Task.get_task(task_id=task.id).delete(delete_artifacts_and_models=not keep_artifacts)
    typer.echo(f"Deleted task {_label(task)}.")


def archive_task(
    ctx: typer.Context,
    task_id: TaskRef,
    restore: Annotated[bool, typer.Option("--restore", help="Take the task out of the archive.")] = False,
) -> None:
    """Archive a task (or --restore it): system tag `archived`, which the web UI and
    `Task.get_tasks(allow_archived=False)` leave out.

    Idempotent. The task and its outputs stay in the store.

    Examples:

        taskmill tasks archive 3f2a9c01

        taskmill tasks archive 3f2a9c01 --restore
    """
    with opened_store(ctx) as store:
        task = resolve_task(store, task_id)
        tags = tuple(t for t in task.system_tags if t != ARCHIVED)
        store.update_task(task.id, system_tags=tags if restore else (*tags, ARCHIVED))
    typer.echo(f"{'Restored' if restore else 'Archived'} task {_label(task)}.")


@artifacts_app.command("get")
def get_artifact(
    ctx: typer.Context,
    task_id: TaskRef,
    name: Annotated[str, typer.Argument(metavar="NAME", help="Artifact name (see `taskmill tasks show`).")],
    to: Annotated[
        Path | None,
        typer.Option(
            "--to", metavar="PATH", help="Where to put it: a file path, or an existing folder (default: .)."
        ),
    ] = None,
    no_extract: Annotated[
        bool, typer.Option("--no-extract", help="Keep a zipped folder artifact as its archive.")
    ] = False,
) -> None:
    """Download an artifact's file (a folder artifact is extracted) and print where it went.

    Examples:

        taskmill tasks artifacts get 3f2a9c01 weights --to /tmp/weights.pt

        taskmill tasks artifacts get 3f2a9c01 dataset_dir --to ./data
    """
    with sdk_session(ctx, create=False) as session:
        task = resolve_task(session.store, task_id)
        records = {a.name: a for a in session.store.get_artifacts(task.id)}
        if name not in records:
            known = ", ".join(sorted(records)) or "none"
            raise NotFoundError(f"task {_label(task)} has no artifact '{name}' (it has: {known})")
        local = Path(session.artifacts.local_copy(records[name], extract_archive=not no_extract))
        target = to if to is not None else Path.cwd()
        if target.is_dir():
            target = target / local.name
        target.parent.mkdir(parents=True, exist_ok=True)
        if local.is_dir():
            shutil.copytree(local, target, dirs_exist_ok=True)
        else:
            shutil.copyfile(local, target)
    print_note(f"artifact '{name}' of task {_label(task)}:")
    typer.echo(str(target))
