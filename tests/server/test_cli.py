"""`taskmill server`: key management commands, and the server as a real process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from typer.testing import CliRunner, Result

from taskmill.cli.main import app
from taskmill.core.model import TaskRecord, new_id
from taskmill.server import free_port
from taskmill.store.factory import open_store
from taskmill.store.http import HttpTaskStore

TASKMILL = str(Path(sys.executable).parent / "taskmill")


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKMILL_")}
    return {**env, "TASKMILL_HOME": str(tmp_path / "home")}


def _cli(tmp_path: Path, *args: str) -> Result:
    return CliRunner().invoke(app, list(args), env=_env(tmp_path))


def test_key_commands(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path}/s.db"
    made = _cli(tmp_path, "server", "create-key", "--name", "laptop", "--store", store)
    assert made.exit_code == 0, made.output
    secret = made.stdout.strip().splitlines()[0]
    assert secret.startswith("tm_") and "shown" not in secret
    listed = _cli(tmp_path, "server", "list-keys", "--store", store, "--json")
    (key,) = json.loads(listed.stdout)
    assert key["name"] == "laptop" and key["revoked"] is None and secret not in listed.stdout
    assert "laptop" in _cli(tmp_path, "--store", store, "server", "list-keys").stdout  # global --store too
    assert _cli(tmp_path, "server", "revoke-key", key["id"], "--store", store).exit_code == 0
    s = open_store(store)
    assert not s.check_api_key(secret)
    s.close()
    missing = _cli(tmp_path, "server", "revoke-key", "0123456789abcdef", "--store", store)
    assert missing.exit_code == 1 and "no API key with id '0123456789abcdef'" in missing.output


def test_server_refuses_to_serve_another_server(tmp_path: Path) -> None:
    result = _cli(tmp_path, "server", "--store", "http://127.0.0.1:1")
    assert result.exit_code == 1 and "not another server" in result.output


def test_server_process_serves_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path}/s.db"
    port = free_port()
    log = (tmp_path / "server.log").open("w+")
    proc = subprocess.Popen(
        [TASKMILL, "server", "--port", str(port), "--store", store, "--artifacts", str(tmp_path / "art")],
        env=_env(tmp_path),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(url + "/api/v1/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "server.log").read_text()
            time.sleep(0.05)
        output = (tmp_path / "server.log").read_text()
        assert f"taskmill server on {url}" in output and "No API key exists yet" in output
        assert httpx.get(url + "/api/v1/queues").status_code == 401
        secret = open_store(store).create_api_key("e2e")[1]
        remote = HttpTaskStore(url, secret)
        made = remote.create_task(TaskRecord(id=new_id(), name="over-http", project="e2e"))
        assert remote.get_task(made.id).name == "over-http"
        assert remote.server_info()["artifacts_uri"] == str(tmp_path / "art")
        remote.close()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 130  # graceful shutdown, then the usual exit status of Ctrl-C
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
