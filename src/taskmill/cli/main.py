"""The ``taskmill`` command: root app, global options and error reporting.

Sub-commands live in small modules (:mod:`.tasks`, :mod:`.projects`, :mod:`.queues`,
:mod:`.datasets`, :mod:`.dev`, :mod:`.remote`, :mod:`.configure`, ...) and are mounted here.
Every command opens the store itself (see :func:`._common.opened_store`); the root callback
only records the global ``--store`` override in the typer context.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from taskmill import __version__
from taskmill.cli import (
    agent,
    automation,
    configure,
    datasets,
    dev,
    pipelines,
    projects,
    queues,
    remote,
    server,
    store_admin,
    tasks,
)
from taskmill.cli._common import CliState, print_error
from taskmill.errors import TaskmillError


class _ReportingGroup(TyperGroup):
    """Root command group that turns expected errors into a one-line message and exit code 1.

    Sub-command invocation happens inside the root group's ``invoke``, so catching here covers
    every command, both for the installed script and for in-process ``CliRunner`` calls.
    """

    # ``ctx`` is click's Context; typer vendors click and keeps that class private (``typer._click``),
    # so it is typed as Any rather than importing a private module.
    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (TaskmillError, ValueError) as exc:
            print_error(str(exc))
            raise typer.Exit(code=1) from None


app = typer.Typer(
    name="taskmill",
    cls=_ReportingGroup,
    no_args_is_help=True,
    # Locals can hold store URLs with passwords; never print them in tracebacks of real bugs.
    pretty_exceptions_show_locals=False,
)
app.add_typer(tasks.app, name="tasks")
app.add_typer(projects.app, name="projects")
app.add_typer(queues.app, name="queues")
app.add_typer(pipelines.app, name="pipelines")
app.add_typer(server.app, name="server")
app.add_typer(datasets.app, name="datasets")
app.add_typer(configure.app, name="config")
app.add_typer(store_admin.app, name="store")
app.add_typer(automation.schedules_app, name="schedules")
app.add_typer(automation.triggers_app, name="triggers")
app.add_typer(automation.hpo_app, name="hpo")
app.add_typer(agent.app, name="agent")
app.command("dev")(dev.dev)
app.command("run-remote")(remote.run_remote)
app.command("login")(configure.login)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"taskmill {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    store: Annotated[
        str | None,
        typer.Option(
            "--store",
            metavar="URL",
            help="Store URL (e.g. sqlite:////data/store.db); overrides TASKMILL_STORE and the config file.",
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """taskmill: run and inspect tasks, pipelines, datasets, queues and agents of a taskmill store.

    The store is TASKMILL_STORE, or `store` in $TASKMILL_HOME/config.toml, or
    ~/.taskmill/store.db; --store overrides them all.

    Examples:

        taskmill dev

        taskmill tasks list --project mnist --status running

        taskmill --store sqlite:////data/store.db tasks show 3f2a9c01
    """
    ctx.obj = CliState(store_url=store)


def main() -> None:
    """Console-script entry point (``[project.scripts] taskmill``)."""
    app(prog_name="taskmill")
