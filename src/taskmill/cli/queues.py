"""``taskmill queues``: list, create and delete the queues agents take tasks from."""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Annotated, Any

import typer

from taskmill.cli._common import (
    format_time,
    new_table,
    opened_store,
    print_json,
    print_note,
    relative_time,
    resolve_task,
    short_id,
    stdout_console,
    store_missing,
)
from taskmill.core.model import TaskRecord, WorkerRecord
from taskmill.core.states import TaskStatus
from taskmill.errors import ConflictError, QueueNotFoundError
from taskmill.store.base import TaskFilter

#: An agent whose last heartbeat is older than this (seconds) is shown as silent.
SILENT_AFTER = 10.0

app = typer.Typer(help="List, create and delete queues.", no_args_is_help=True)


@app.command("list")
def list_queues(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List queues: how many tasks wait in each, the agents serving it and what they run now.

    Examples:

        taskmill queues list

        taskmill queues list --json
    """
    if store_missing(ctx, as_json, "No queues yet; create one with `taskmill queues create NAME`."):
        return
    with opened_store(ctx, create=False) as store:
        found = store.list_queues()
        workers = store.list_workers()
        running = store.find_tasks(TaskFilter(status=(TaskStatus.in_progress,))) if workers else []
    now = time.time()
    by_worker: dict[str, list[TaskRecord]] = {}
    for task in running:
        by_worker.setdefault(task.worker, []).append(task)
    if as_json:
        print_json(
            [
                {
                    **asdict(q),
                    "agents": [
                        _agent_json(w, by_worker.get(w.id, []), now) for w in workers if q.name in w.queues
                    ],
                }
                for q in found
            ]
        )
        return
    if not found:
        print_note("No queues yet; create one with `taskmill queues create NAME`.")
        return
    table = new_table()
    table.add_column("Name", overflow="fold")
    table.add_column("Depth", justify="right")
    table.add_column("Created", no_wrap=True)
    table.add_column("Agents (running now)", overflow="fold")
    for q in found:
        serving = [w for w in workers if q.name in w.queues]
        agents = "\n".join(_agent_line(w, by_worker.get(w.id, []), now) for w in serving) or "none"
        table.add_row(q.name, str(q.depth), format_time(q.created), agents)
    stdout_console().print(table)
    if any(not any(q.name in w.queues for w in workers) and q.depth for q in found):
        print_note("Tasks wait in a queue no agent serves; start one with `taskmill agent --queue NAME`.")


def _agent_line(worker: WorkerRecord, tasks: list[TaskRecord], now: float) -> str:
    """``host:pid: idle`` or ``host:pid: 3f2a9c01 train``, marked when its heartbeats stopped."""
    doing = ", ".join(f"{short_id(t.id)} {t.name}" for t in tasks) or "idle"
    silent = (
        f" (silent since {relative_time(worker.last_seen, now)})"
        if now - worker.last_seen > SILENT_AFTER
        else ""
    )
    return f"{worker.id}: {doing}{silent}"


def _agent_json(worker: WorkerRecord, tasks: list[TaskRecord], now: float) -> dict[str, Any]:
    return {
        **worker.to_dict(),
        "silent": now - worker.last_seen > SILENT_AFTER,
        "running": [{"id": t.id, "name": t.name} for t in tasks],
    }


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


@app.command("show")
def show_queue(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Name of the queue.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """The tasks waiting in a queue, in the order agents will take them (priority, then arrival).

    Example:

        taskmill queues show default
    """
    with opened_store(ctx, create=False) as store:
        entries = store.queue_entries(name)
        tasks = {t.id: t for t in store.find_tasks(TaskFilter(ids=tuple(e.task_id for e in entries)))}
    if as_json:
        print_json(
            [
                {
                    "position": i + 1,
                    "task_id": e.task_id,
                    "priority": e.priority,
                    "added": e.added,
                    "name": tasks[e.task_id].name if e.task_id in tasks else "",
                }
                for i, e in enumerate(entries)
            ]
        )
        return
    if not entries:
        print_note(f"Queue '{name}' is empty.")
        return
    table = new_table()
    for column in ("Position", "Task", "Name", "Project", "Priority", "Waiting since"):
        table.add_column(column)
    for i, e in enumerate(entries):
        task = tasks.get(e.task_id)
        table.add_row(
            str(i + 1),
            short_id(e.task_id),
            task.name if task else "-",
            task.project if task else "-",
            str(e.priority),
            relative_time(e.added),
        )
    stdout_console().print(table)


@app.command("enqueue")
def enqueue_task(
    ctx: typer.Context,
    task: Annotated[str, typer.Argument(help="Task id (or a unique prefix).")],
    queue: Annotated[str, typer.Option("--queue", "-q", help="Queue to put it in.")] = "default",
    priority: Annotated[int, typer.Option("--priority", help="Higher runs first (default 0).")] = 0,
) -> None:
    """Put a draft (or failed/aborted) task in a queue for an agent.

    Examples:

        taskmill queues enqueue 5607d790 --queue gpu

        taskmill queues enqueue 5607d790 --queue gpu --priority 10
    """
    with opened_store(ctx) as store:
        record = resolve_task(store, task)
        store.enqueue(record.id, queue, priority=priority)
        position = [e.task_id for e in store.queue_entries(queue)].index(record.id) + 1
    typer.echo(f"Queued {record.name} ({short_id(record.id)}) on '{queue}' at position {position}.")


@app.command("dequeue")
def dequeue_task(
    ctx: typer.Context,
    task: Annotated[str, typer.Argument(help="Task id (or a unique prefix).")],
) -> None:
    """Take a queued task out of its queue (it goes back to draft).

    Example:

        taskmill queues dequeue 5607d790
    """
    with opened_store(ctx) as store:
        record = resolve_task(store, task)
        store.dequeue(record.id)
    typer.echo(f"Dequeued {record.name} ({short_id(record.id)}).")
