"""``taskmill server``: serve a store over HTTP, and manage the API keys that open it.

``taskmill server`` alone runs the server in the foreground; ``create-key``, ``list-keys`` and
``revoke-key`` manage keys, which live in the store (so they take the same ``--store``). Key
commands also work through a running server (``--store http://...`` with ``TASKMILL_API_KEY``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated
from urllib.parse import urlsplit, urlunsplit

import typer

from taskmill.cli._common import cli_state, format_time, new_table, print_json, print_note, stdout_console
from taskmill.cli._extras import require_extra
from taskmill.config import Settings
from taskmill.store.base import TaskStore
from taskmill.store.factory import open_store

#: Seconds key commands keep retrying an unreachable HTTP store.
INTERACTIVE_RETRY = 5.0

app = typer.Typer(
    help="Serve a store over HTTP (the API agents, the SDK and the UI use), and manage its API keys.",
    invoke_without_command=True,
)

StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store",
        metavar="URL",
        help="Store URL (sqlite:////path.db, postgresql+psycopg://...); default: TASKMILL_STORE / config.",
    ),
]


def _settings(ctx: typer.Context, store: str | None) -> Settings:
    settings = Settings.from_env()
    override = store or cli_state(ctx).store_url
    return settings.with_(store_url=override) if override else settings


@contextmanager
def _opened(ctx: typer.Context, store: str | None) -> Iterator[TaskStore]:
    settings = _settings(ctx, store)
    # A person is waiting: give up on an unreachable server after a few seconds, not a minute.
    opened = open_store(settings.store_url, settings.api_key or None, retry_for=INTERACTIVE_RETRY)
    try:
        yield opened
    finally:
        opened.close()


def redact(url: str) -> str:
    """``url`` with its password replaced by ``***`` (safe to print)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


@app.callback()
def server(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="Interface to listen on (0.0.0.0: all).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.")] = 8080,
    store: StoreOption = None,
    artifacts: Annotated[
        str | None,
        typer.Option(
            "--artifacts",
            metavar="URL",
            help="Where artifacts uploaded through the server go (a folder or s3://bucket/prefix); "
            "default: TASKMILL_ARTIFACTS / config.",
        ),
    ] = None,
    no_auth: Annotated[
        bool, typer.Option("--no-auth", help="Serve without API keys (trusted networks and tests only).")
    ] = False,
    artifact_allow: Annotated[
        list[str] | None,
        typer.Option(
            "--artifact-allow",
            metavar="PREFIX",
            help="Also serve artifact and model bytes recorded under PREFIX (an absolute folder or a URL "
            "with a host; repeatable); default: TASKMILL_SERVER_ARTIFACT_ALLOW / config "
            "server.artifact_allow. Records anywhere else are refused.",
        ),
    ] = None,
    dead_after: Annotated[
        float | None,
        typer.Option(
            "--dead-after",
            metavar="SECONDS",
            min=0.1,
            help="An agent that sent no heartbeat for this many seconds while this server was up is "
            "dead: its running tasks fail (default: TASKMILL_SERVER_DEAD_AFTER, else 120). Time the "
            "server was down never counts.",
        ),
    ] = None,
) -> None:
    """Serve the store at --store over HTTP until Ctrl-C.

    Clients use it with TASKMILL_STORE=http://HOST:PORT and TASKMILL_API_KEY=<key>.

    Examples:

        taskmill server --store postgresql+psycopg://tm@db/taskmill --artifacts s3://ml/artifacts

        taskmill server create-key --name agents
    """
    if ctx.invoked_subcommand is not None:
        return
    require_extra("server", "taskmill server")
    settings = _settings(ctx, store)
    if settings.store_url.startswith(("http://", "https://")):
        raise ValueError(
            f"--store {settings.store_url}: a server serves a database (sqlite:// or postgresql://), "
            "not another server"
        )
    if artifacts:
        settings = settings.with_(artifacts_uri=artifacts)
    # Imported here: the server stack (FastAPI, uvicorn) is only needed by this command.
    from taskmill.artifacts.storage import ArtifactStore
    from taskmill.server import create_app, serve
    from taskmill.server.reaper import dead_after_from_env

    dead = dead_after if dead_after is not None else dead_after_from_env()

    opened = open_store(settings.store_url)
    try:
        artifact_store = ArtifactStore(settings.artifacts_uri, str(settings.cache_dir))
        allow = tuple(artifact_allow) if artifact_allow else settings.server_artifact_allow
        app_ = create_app(opened, artifact_store, auth=not no_auth, artifact_allow=allow, dead_after=dead)
        base = f"http://{host}:{port}"
        typer.echo(f"taskmill server on {base}  (web UI {base}/, API {base}/api/v1, docs {base}/docs)")
        typer.echo(f"  store:     {redact(settings.store_url)}")
        typer.echo(f"  artifacts: {artifact_store.default_uri}")
        typer.echo(f"  agents:    dead after {dead:g} s without a heartbeat while the server is up")
        if allow:
            typer.echo(f"  also read: {', '.join(allow)}  (server.artifact_allow)")
        if no_auth:
            print_note("Authentication is OFF (--no-auth): anyone who can reach this port can use the store.")
        elif not any(not k.is_revoked for k in opened.list_api_keys()):
            store_arg = f" --store {redact(settings.store_url)}" if store else ""
            print_note(
                "No API key exists yet, so no client can connect. Create one with\n"
                f"  taskmill server create-key --name NAME{store_arg}\n"
                "and give it to clients as TASKMILL_API_KEY (and to the web UI's sign-in page)."
            )
        typer.echo(f"Clients: TASKMILL_STORE={base} TASKMILL_API_KEY=<key>")
        serve(app_, host=host, port=port)
    finally:
        opened.close()


@app.command("create-key")
def create_key(
    ctx: typer.Context,
    name: Annotated[str, typer.Option("--name", help="A label: who or what uses the key.")] = "",
    role: Annotated[
        str | None,
        typer.Option(
            "--role",
            metavar="admin|user",
            help="admin: may also create, list and revoke keys; user: everything else (agents). "
            "Default: admin for the store's first key, user after.",
        ),
    ] = None,
    store: StoreOption = None,
) -> None:
    """Create an API key and print its secret (shown only this once).

    Example:

        taskmill server create-key --name laptop --store sqlite:////srv/taskmill/store.db

        taskmill server create-key --name agents --role user
    """
    with _opened(ctx, store) as opened:
        key_id, secret = opened.create_api_key(name, role=role)
    typer.echo(secret)
    print_note(f"Created API key {key_id}{f' ({name})' if name else ''}. Its secret is printed above, once:")
    print_note("store it now (clients read TASKMILL_API_KEY or `api_key` in the config file).")


@app.command("list-keys")
def list_keys(
    ctx: typer.Context,
    store: StoreOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List API keys (ids, names, when created and revoked; never their secrets)."""
    with _opened(ctx, store) as opened:
        keys = opened.list_api_keys()
    if as_json:
        print_json([k.to_dict() for k in keys])
        return
    if not keys:
        print_note("No API keys yet; create one with `taskmill server create-key --name NAME`.")
        return
    table = new_table()
    for column in ("Id", "Name", "Role", "Created", "Revoked"):
        table.add_column(column)
    for k in keys:
        table.add_row(
            k.id, k.name or "-", k.role, format_time(k.created), format_time(k.revoked) if k.revoked else "-"
        )
    stdout_console().print(table)


@app.command("revoke-key")
def revoke_key(
    ctx: typer.Context,
    key_id: Annotated[str, typer.Argument(metavar="ID", help="Id of the key (see list-keys).")],
    store: StoreOption = None,
) -> None:
    """Revoke an API key: requests with it are refused (403) from now on."""
    with _opened(ctx, store) as opened:
        opened.revoke_api_key(key_id)
    typer.echo(f"Revoked API key {key_id}.")
