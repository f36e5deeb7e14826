"""``taskmill agent``: serve queues: claim tasks and run each in its own process; ``taskmill agent
execute TASK_ID``: run one task to completion and exit (what a Slurm job or a pod runs).

Settings are read here, once (``Settings.from_env()`` and ``--store``), and handed to the agent as
values; the agent passes the store settings (and ``TASKMILL_API_KEY``) on to task processes.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from taskmill.agent import DEFAULT_SERVICES, Agent, AgentOptions, default_worker_id
from taskmill.agent.containers import ContainerOptions, engine_arguments
from taskmill.cli._common import cli_settings
from taskmill.store.factory import open_store

_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class AgentGroup(TyperGroup):
    """The ``agent`` command (a group, for ``execute``): lets ``--services-mode`` go without its
    number (ClearML's ``--services-mode [N]``), which typer options cannot express."""

    # ``ctx`` is click's Context (see ``_ReportingGroup`` in :mod:`.main` for why it is Any).
    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return super().parse_args(ctx, with_services_default(args))


def with_services_default(args: list[str]) -> list[str]:
    """``args`` with the default N after a bare ``--services-mode``."""
    out: list[str] = []
    for i, arg in enumerate(args):
        out.append(arg)
        if arg == "--services-mode" and (i + 1 == len(args) or not args[i + 1].isdigit()):
            out.append(str(DEFAULT_SERVICES))
    return out


app = typer.Typer(cls=AgentGroup, help="Serve queues, or execute one task.")


@app.callback(invoke_without_command=True)
def agent(
    ctx: typer.Context,
    queue: Annotated[
        list[str] | None,
        typer.Option(
            "--queue", "-q", metavar="QUEUE", help="Queue to serve; repeat for more (first one first)."
        ),
    ] = None,
    services_mode: Annotated[
        int | None,
        typer.Option(
            "--services-mode",
            metavar="[N]",
            help=f"Run up to N tasks at once (pipeline controllers); N defaults to {DEFAULT_SERVICES}.",
        ),
    ] = None,
    burst: Annotated[
        bool, typer.Option("--burst", help="Exit once the queues are empty and nothing runs.")
    ] = False,
    max_tasks: Annotated[
        int | None, typer.Option("--max-tasks", metavar="N", min=1, help="Exit after running N tasks.")
    ] = None,
    worker_id: Annotated[
        str | None, typer.Option("--id", metavar="NAME", help="Agent id (default: <hostname>:<pid>).")
    ] = None,
    heartbeat: Annotated[
        float, typer.Option("--heartbeat", metavar="S", min=0.05, help="Seconds between heartbeats.")
    ] = 2.0,
    dead_after: Annotated[
        float | None,
        typer.Option(
            "--dead-after",
            metavar="S",
            help="With a database store: agents silent this long (while this agent reaches the store) "
            "are dead and their tasks fail (default: 5 heartbeats). With a taskmill server, the server "
            "judges liveness instead (taskmill server --dead-after).",
        ),
    ] = None,
    create_queue: Annotated[
        bool,
        typer.Option(
            "--create-queue/--no-create-queue",
            help="Create the queues that do not exist (default), or refuse to start without them.",
        ),
    ] = True,
    gpus: Annotated[
        str | None,
        typer.Option(
            "--gpus",
            metavar="IDS",
            help="GPUs the tasks may use, e.g. 0 or 0,1 (sets CUDA_VISIBLE_DEVICES for them).",
        ),
    ] = None,
    cpu_only: Annotated[
        bool, typer.Option("--cpu-only", help="Tasks see no GPU (CUDA_VISIBLE_DEVICES is empty).")
    ] = False,
    docker: Annotated[
        str | None,
        typer.Option(
            "--docker",
            metavar="IMAGE",
            help="Run each task in a container of its image (set_base_docker / docker=), else of IMAGE "
            "('' for tasks that name their own).",
        ),
    ] = None,
    docker_engine: Annotated[
        str, typer.Option("--docker-engine", metavar="CMD", help="Container engine: docker or podman.")
    ] = "docker",
    docker_args: Annotated[
        str | None,
        typer.Option(
            "--docker-args",
            metavar="ARGS",
            help="Extra `ENGINE run` options for every task, e.g. '-v /data:/data'.",
        ),
    ] = None,
    backend: Annotated[
        str,
        typer.Option(
            "--backend",
            metavar="NAME",
            help="local: run tasks here (default). slurm: submit each claimed task as an sbatch job "
            "running `taskmill agent execute` (needs --template); the job's end becomes the task's. "
            "kubernetes: the same with a batch/v1 Job per task (pip install 'taskmill[kubernetes]').",
        ),
    ] = "local",
    template: Annotated[
        Path | None,
        typer.Option(
            "--template",
            metavar="FILE",
            help="--backend slurm: the batch script ({{command}}, {{task_id}} and {{job_name}} are "
            "replaced). --backend kubernetes: a Job or Pod YAML ({{task_id}}, {{job_name}}).",
        ),
    ] = None,
) -> None:
    """Serve queues: claim tasks and run each in its own process, until stopped.

    Tasks run in this agent's Python environment (forked from a warm worker), from a checkout of
    their git commit when they record one, and in a cached virtualenv when their packages differ.
    Queues that do not exist yet are created (and the agent says so). SIGTERM or Ctrl-C stops
    the agent: running tasks are aborted (marked stopped) and the agent unregisters.

    Examples:

        taskmill agent --queue default

        taskmill agent --queue services --services-mode

        taskmill agent -q gpu -q default --burst

        taskmill agent -q gpu --gpus 0,1

        taskmill agent -q default --docker python:3.11 --docker-engine podman

        taskmill agent execute 1a2b3c4d5e6f...   (one task, then exit)
    """
    if ctx.invoked_subcommand is not None:
        return
    if not queue:
        raise typer.BadParameter(
            "give the queues to serve (e.g. --queue default), or `taskmill agent execute TASK_ID`",
            param_hint="--queue",
        )
    if backend not in ("local", "slurm", "kubernetes"):
        raise typer.BadParameter(
            f"'{backend}' is not a backend: local, slurm or kubernetes", param_hint="--backend"
        )
    if backend != "local":
        if template is None:
            raise typer.BadParameter(f"--backend {backend} needs --template FILE", param_hint="--template")
        if backend == "slurm":
            from taskmill.agent.slurm_glue import run_glue
        else:
            from taskmill.agent.k8s_glue import run_glue
        _log_to_stderr()
        raise typer.Exit(
            run_glue(
                cli_settings(ctx),
                list(dict.fromkeys(queue)),
                template,
                worker_id=worker_id,
                poll=heartbeat,
                burst=burst,
            )
        )
    if template is not None:
        raise typer.BadParameter("--template is for --backend slurm or kubernetes", param_hint="--template")
    if services_mode is not None and services_mode < 1:
        raise typer.BadParameter("must be at least 1", param_hint="--services-mode")
    dead = dead_after if dead_after is not None else 5 * heartbeat
    if dead <= heartbeat:
        raise typer.BadParameter(
            f"must be longer than --heartbeat ({heartbeat} s)", param_hint="--dead-after"
        )
    settings = cli_settings(ctx)
    child_env = settings.to_env()  # store, artifacts and API key: task processes use what the agent uses
    child_env.update(gpu_environment(gpus, cpu_only))
    options = AgentOptions(
        queues=tuple(dict.fromkeys(queue)),
        worker_id=worker_id or default_worker_id(),
        cache_dir=settings.home / "agent",
        child_env=child_env,
        services=services_mode or 0,
        burst=burst,
        max_tasks=max_tasks,
        heartbeat=heartbeat,
        dead_after=dead,
        create_queues=create_queue,
        cwd=os.getcwd(),
        containers=None
        if docker is None
        else ContainerOptions(
            engine=docker_engine, image=docker or None, arguments=engine_arguments(docker_args)
        ),
    )
    _log_to_stderr()
    store = open_store(settings.store_url, settings.api_key or None)
    try:
        runner = Agent(store, options)
        previous = {sig: signal.getsignal(sig) for sig in _SIGNALS}

        def on_signal(signum: int, frame: FrameType | None) -> None:
            runner.request_stop(signal.Signals(signum).name)
            for sig, handler in previous.items():  # a second signal acts at once
                signal.signal(sig, handler)

        for sig in _SIGNALS:
            signal.signal(sig, on_signal)
        try:
            code = runner.run()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    finally:
        store.close()
    raise typer.Exit(code)


@app.command("execute")
def execute(
    ctx: typer.Context,
    task_id: Annotated[str, typer.Argument(help="The queued or draft task to run (its whole id).")],
    heartbeat: Annotated[
        float, typer.Option("--heartbeat", metavar="S", min=0.05, help="Seconds between heartbeats.")
    ] = 2.0,
    claimed_by: Annotated[
        str | None,
        typer.Option("--claimed-by", metavar="AGENT", hidden=True, help="The glue agent that claimed it."),
    ] = None,
) -> None:
    """Run one task to completion here, then exit (ClearML's `clearml-agent execute --id`).

    What a Slurm job, a Kubernetes pod or a Ray task runs for a task something else scheduled: the
    task is taken (queued or draft, never one that runs elsewhere), run as under an agent
    (checkout, environment, heartbeats, log, final status, artifacts), and the exit code says how
    it ended: 0 completed, 1 failed or stopped, 3 not taken. SIGTERM (a cancelled or preempted
    job) stops the task and marks it stopped.

    Examples:

        taskmill agent execute 1a2b3c4d5e6f47a8b9c0d1e2f3a4b5c6
    """
    from taskmill.agent.execute_one import run_with_signals

    _log_to_stderr()
    raise typer.Exit(run_with_signals(cli_settings(ctx), task_id, heartbeat=heartbeat, claimed_by=claimed_by))


def _log_to_stderr() -> None:
    """Agent progress lines on stderr (once per process, also when invoked many times in tests)."""
    # taskmill.store too: "server unreachable since ..., retrying" lines get the same time stamp.
    for log in (logging.getLogger("taskmill.agent"), logging.getLogger("taskmill.store")):
        if not any(getattr(h, "_taskmill_agent", False) for h in log.handlers):
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter("%(asctime)s taskmill agent: %(message)s", "%H:%M:%S"))
            handler._taskmill_agent = True  # type: ignore[attr-defined]
            log.addHandler(handler)
    logging.getLogger("taskmill.agent").setLevel(logging.INFO)


def gpu_environment(gpus: str | None, cpu_only: bool) -> dict[str, str]:
    """``CUDA_VISIBLE_DEVICES`` for the agent's tasks from ``--gpus`` / ``--cpu-only`` (ClearML's
    agent options); empty when neither is given (tasks inherit the agent's own setting)."""
    if gpus is not None and cpu_only:
        raise typer.BadParameter("give --gpus or --cpu-only, not both", param_hint="--cpu-only")
    if cpu_only:
        return {"CUDA_VISIBLE_DEVICES": ""}
    if gpus is None:
        return {}
    ids = [g.strip() for g in gpus.split(",")]
    if not all(ids) or not all(g.isdigit() or g.startswith(("GPU-", "MIG-")) for g in ids):
        raise typer.BadParameter(
            f"'{gpus}' is not a list of GPU indexes or UUIDs (e.g. 0 or 0,1)", param_hint="--gpus"
        )
    return {"CUDA_VISIBLE_DEVICES": ",".join(ids)}
