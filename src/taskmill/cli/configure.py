"""``taskmill login URL`` and ``taskmill config show``: point this machine at a server, and see why
each setting has the value it has.

``login`` checks the key against the server (one authenticated request) before writing
``store`` and ``api_key`` to the config file, so a wrong URL or key never lands in it; the write
is atomic and keeps the file's other keys. ``config show`` only reads.
"""

from __future__ import annotations

import os
from typing import Annotated, Any

import httpx
import typer

from taskmill.cli._common import cli_settings, cli_state, new_table, print_json, print_note, stdout_console
from taskmill.cli._config_file import ENV_VARS, config_path, read_config, update_config

#: Seconds ``login`` waits for the server.
LOGIN_TIMEOUT = 10.0

app = typer.Typer(help="Show the settings in effect and where each comes from.", no_args_is_help=True)


def mask(secret: str) -> str:
    """An API key with its secret part hidden (``tm_<id>_****``); ``-`` when empty."""
    if not secret:
        return "-"
    parts = secret.split("_", 2)  # tm_<key id>_<random>; the random part may contain "_"
    return f"tm_{parts[1]}_****" if len(parts) == 3 and parts[0] == "tm" else "****"


def verify_key(url: str, key: str) -> dict[str, Any]:
    """The server's ``/info`` fetched with ``key``; ValueError saying what is wrong otherwise. Blocking."""
    try:
        response = httpx.get(
            f"{url}/api/v1/info", headers={"Authorization": f"Bearer {key}"}, timeout=LOGIN_TIMEOUT
        )
    except httpx.HTTPError as exc:
        raise ValueError(
            f"cannot reach {url} ({exc}); check the URL and that `taskmill server` runs there"
        ) from None
    if response.status_code in (401, 403):
        try:
            detail = str(response.json().get("detail", ""))
        except ValueError:
            detail = response.text
        raise ValueError(
            f"{url} refused the key: {detail or response.status_code}; check it, or create one "
            "with `taskmill server create-key` on the server"
        )
    if response.status_code != 200:
        raise ValueError(f"{url} is not a taskmill server (GET /api/v1/info answered {response.status_code})")
    try:
        info: dict[str, Any] = response.json()
    except ValueError:
        raise ValueError(f"{url} is not a taskmill server (GET /api/v1/info is not JSON)") from None
    return info


def login(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(metavar="URL", help="The server, e.g. http://tm.example.com:8080.")],
    key: Annotated[
        str | None,
        typer.Option("--key", metavar="KEY", help="API key (default: asked for, without echo)."),
    ] = None,
) -> None:
    """Check an API key against a server and save both in the config file.

    After this, the SDK, the CLI and agents on this machine use the server without
    TASKMILL_STORE / TASKMILL_API_KEY (which still override the file when set).

    Examples:

        taskmill login http://tm.example.com:8080

        taskmill login http://127.0.0.1:8080 --key tm_0123abcd_...
    """
    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise typer.BadParameter(f"'{url}' is not an http:// or https:// URL", param_hint="URL")
    secret = (key or typer.prompt("API key", hide_input=True)).strip()
    info = verify_key(url, secret)
    home = cli_settings(ctx).home
    path = config_path(home)
    update_config(path, {"store": url, "api_key": secret})
    typer.echo(
        f"Logged in to {url} (taskmill server {info.get('version', '?')}); wrote store and api_key to {path}"
    )
    if info.get("auth") is False:
        print_note("This server runs without authentication (--no-auth): the key is not needed there.")
    shadowing = [ENV_VARS[k] for k in ("store", "api_key") if os.environ.get(ENV_VARS[k])]
    if shadowing:
        print_note(f"{' and '.join(shadowing)} set in this shell override the file; unset them to use it.")


@app.command("show")
def show(
    ctx: typer.Context,
    sources: Annotated[
        bool,
        typer.Option("--sources", help="Also say where each value comes from: default, file, env or flag."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Show the settings in effect (the API key masked).

    Sources, highest first: flag (--store), env (TASKMILL_*), file ($TASKMILL_HOME/config.toml),
    default.

    Examples:

        taskmill config show --sources

        taskmill --store sqlite:////tmp/x.db config show --sources --json
    """
    settings = cli_settings(ctx)
    path = config_path(settings.home)
    in_file = read_config(path)
    values = {
        "home": str(settings.home),
        "store": settings.store_url,
        "artifacts": settings.artifacts_uri,
        "output_uri": settings.output_uri,
        "api_key": mask(settings.api_key),
    }
    flagged = {"store"} if cli_state(ctx).store_url else set()

    def source(name: str) -> str:
        if name in flagged:
            return "flag"
        if os.environ.get(ENV_VARS[name]):
            return "env"
        if name != "home" and isinstance(in_file.get(name), str) and in_file[name]:
            return "file"
        return "default"

    rows = [{"key": k, "value": v, "source": source(k)} for k, v in values.items()]
    if as_json:
        print_json(
            {"config_file": str(path), "settings": rows if sources else {k: v for k, v in values.items()}}
        )
        return
    table = new_table()
    table.add_column("Key", no_wrap=True)
    table.add_column("Value", overflow="fold")
    if sources:
        table.add_column("Source", no_wrap=True)
    for row in rows:
        cells = [row["key"], row["value"] or "-"]
        table.add_row(*cells, *([row["source"]] if sources else []))
    stdout_console().print(table)
    print_note(f"config file: {path}{'' if path.exists() else ' (does not exist)'}")
