"""The team the end-to-end tests run against: a real ``taskmill server`` process on a SQLite
store, a ``services`` agent (controllers) and a ``default`` agent (steps)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from taskmill.store.http import HttpTaskStore
from tests.processes import Processes, free_port

TASKMILL = str(Path(sys.executable).parent / "taskmill")


def client_env(home: Path, extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKMILL_")}
    return {**env, "TASKMILL_HOME": str(home), **extra}


@pytest.fixture
def team(tmp_path: Path) -> Iterator[tuple[dict[str, str], HttpTaskStore]]:
    """A server on a SQLite store and two agents (services, default); yields the client env."""
    db = f"sqlite:///{tmp_path}/server.db"
    server_env = client_env(tmp_path / "server-home", {})
    created = subprocess.run(
        [TASKMILL, "server", "create-key", "--name", "e2e", "--store", db],
        env=server_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert created.returncode == 0, created.stdout + created.stderr
    key = created.stdout.strip().splitlines()[0]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    client = {"TASKMILL_STORE": url, "TASKMILL_API_KEY": key}
    store = HttpTaskStore(url, key)
    procs = Processes(tmp_path)
    try:
        procs.start("server", [TASKMILL, "server", "--port", str(port), "--store", db], server_env)
        deadline = time.monotonic() + 30
        while True:
            try:
                store.last_event_id()
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        for name, args in (("services", ["--services-mode"]), ("default", [])):
            procs.start(
                f"agent-{name}",
                [TASKMILL, "agent", "--queue", name, *args, "--create-queue", "--id", f"agent-{name}"],
                client_env(tmp_path / f"agent-{name}", client),
            )
        yield client_env(tmp_path / "client-home", client), store
    finally:
        procs.stop()
        store.close()
