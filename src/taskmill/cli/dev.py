"""``taskmill dev``: a laptop "team" in one command: a server and two agents on the embedded store.

The server (``taskmill server``), a services agent (``--queue services --services-mode``) and a
default agent (``--queue default``) run as child processes of this one, all on the same embedded
(SQLite) store and artifact folder. Blocking: it runs until Ctrl-C / SIGTERM, or until a child
exits on its own; then it stops every child (SIGTERM, then SIGKILL after a grace period) and
waits for them, so no process outlives it. On Linux the children are also asked to receive SIGTERM
should this process die without cleaning up (``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Annotated

import httpx
import typer

from taskmill.cli._common import cli_settings, print_note
from taskmill.cli._extras import require_extra
from taskmill.config import Settings
from taskmill.store.api_keys import ADMIN_ROLE
from taskmill.store.factory import open_store

#: Seconds children get to stop after SIGTERM before they are killed.
STOP_GRACE = 20.0
#: Seconds the server gets to answer its health check.
START_TIMEOUT = 60.0
#: Name of the API key ``taskmill dev`` creates when the store has none.
DEV_KEY_NAME = "taskmill dev"
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True, slots=True)
class Child:
    """One process ``taskmill dev`` runs."""

    name: str
    proc: subprocess.Popen[bytes]


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM when the parent dies (Linux; a no-op elsewhere)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _ensure_key(settings: Settings, new_key: bool) -> str | None:
    """A fresh key's secret when the store has no usable key (or ``new_key``); else None."""
    store = open_store(settings.store_url)
    try:
        if not new_key and any(not k.is_revoked for k in store.list_api_keys()):
            return None
        return store.create_api_key(DEV_KEY_NAME, role=ADMIN_ROLE)[1]
    finally:
        store.close()


def _wait_healthy(base: str, children: list[Child], stopping: list[str]) -> None:
    """Block until the server answers its health check, a child dies (RuntimeError), or a stop
    signal arrives (``stopping`` non-empty: returns at once)."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and not stopping:
        for child in children:
            if child.proc.poll() is not None:
                raise RuntimeError(f"the {child.name} exited at start (code {child.proc.returncode})")
        try:
            if httpx.get(f"{base}/api/v1/health", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    if stopping:
        return
    raise RuntimeError(f"the server did not answer on {base} within {START_TIMEOUT:.0f} s")


def _banner(store_url: str, base: str, log_path: Path, secret: str | None) -> None:
    """What a person needs once everything is up: URLs, the key (if new) and the client line."""
    typer.echo(f"taskmill dev: server and agents (services, default) on {store_url}")
    typer.echo(f"  web UI:  {base}/")
    typer.echo(f"  server log: {log_path}")
    if secret:
        typer.echo(f"  API key: {secret}   (created now and shown only this once: keep it)")
        line = f"TASKMILL_STORE={base} TASKMILL_API_KEY={secret}"
    else:
        print_note(
            "  API key: the store has one already (its secret was printed when it was created); "
            "`taskmill dev --new-key` makes and prints another"
        )
        line = f"TASKMILL_STORE={base} TASKMILL_API_KEY=<your key>"
    typer.echo(f"  clients: {line}")
    typer.echo("Ctrl-C stops the server and both agents.")


def _watch(children: list[Child], stopping: list[str]) -> int:
    """Block until a stop signal (returns 0) or a child exits on its own (returns 1)."""
    while not stopping:
        ended = next((c for c in children if c.proc.poll() is not None), None)
        if ended is not None:
            print_note(f"the {ended.name} exited (code {ended.proc.returncode}): stopping the others")
            return 1
        time.sleep(0.2)
    return 0


def stop_all(children: list[Child], grace: float = STOP_GRACE) -> None:
    """SIGTERM every live child, wait up to ``grace`` s in all, SIGKILL the rest. Blocking."""
    for child in children:
        if child.proc.poll() is None:
            child.proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for child in children:
        try:
            child.proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.proc.kill()
            child.proc.wait()


def dev(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="Interface the server listens on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port of the server.")] = 8080,
    new_key: Annotated[
        bool, typer.Option("--new-key", help="Create (and print) a new API key even if one exists.")
    ] = False,
) -> None:
    """Start a server, a services agent and a default agent on the embedded store, until Ctrl-C.

    Prints the web UI's URL, an API key (one is created, and printed this once, when the store
    has none) and the TASKMILL_STORE=... TASKMILL_API_KEY=... line that points scripts and
    other shells at the server (remote pipelines: `--mode remote` in the examples).
    Ctrl-C or SIGTERM stops all three processes.

    Examples:

        taskmill dev

        taskmill dev --port 8090 --new-key
    """
    require_extra("server", "taskmill dev")
    settings = cli_settings(ctx)
    if not settings.store_url.startswith("sqlite"):
        raise ValueError(
            f"taskmill dev runs on the embedded store, not {settings.store_url.split('://')[0]}://; "
            "unset TASKMILL_STORE / --store (or run `taskmill server` and agents yourself)"
        )
    if not _port_free(host, port):
        raise ValueError(f"port {port} on {host} is in use; give another with --port")
    secret = _ensure_key(settings, new_key)
    base = f"http://{host}:{port}"
    me = [sys.executable, "-m", "taskmill"]  # the children get the store through TASKMILL_STORE
    commands = {
        "server": [*me, "server", "--host", host, "--port", str(port)],
        "services agent": [*me, "agent", "--queue", "services", "--services-mode"],
        "default agent": [*me, "agent", "--queue", "default"],
    }
    env = settings.to_env()
    stop_reason: list[str] = []
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop_reason.append(signal.Signals(signum).name)

    for sig in previous:
        signal.signal(sig, on_signal)
    children: list[Child] = []
    code = 0
    log_path = settings.home / "dev-server.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with log_path.open("ab") as server_log:
            for name, argv in commands.items():
                # Own session: a terminal's Ctrl-C reaches only this process, which then stops
                # each child once (a second signal would make an agent quit without cleaning up).
                proc = subprocess.Popen(
                    argv,
                    env={**os.environ, **env},
                    stdout=server_log if name == "server" else None,
                    stderr=server_log if name == "server" else None,
                    start_new_session=True,
                    preexec_fn=_die_with_parent,  # safe: this CLI process has no other threads
                )
                children.append(Child(name, proc))
        _wait_healthy(base, children, stop_reason)
        if not stop_reason:
            _banner(settings.store_url, base, log_path, secret)
            code = _watch(children, stop_reason)
    except RuntimeError as exc:
        raise ValueError(str(exc)) from None
    finally:
        stop_all(children)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if stop_reason:
        typer.echo(f"taskmill dev: stopped ({stop_reason[0]}); server and agents are down.")
    raise typer.Exit(code)
