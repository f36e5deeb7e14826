"""The server's reaper counts only its own uptime, and only while it could reach its store."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx
import pytest

from taskmill.core.model import TaskRecord, new_id
from taskmill.core.states import TaskStatus
from taskmill.errors import StoreConnectionError
from taskmill.server import free_port
from taskmill.server.reaper import DEFAULT_DEAD_AFTER, ServerReaper, dead_after_from_env
from taskmill.store.http import HttpTaskStore
from taskmill.store.sql.store import SqlTaskStore
from tests.chaos.faults import wait_until
from tests.server.harness import served
from tests.store.procs import TASKMILL, cli_env


def test_silence_before_the_server_started_does_not_count(tmp_path: Path) -> None:
    store = SqlTaskStore(f"sqlite:///{tmp_path}/s.db")
    store.create_queue("q")
    task = store.create_task(TaskRecord(id=new_id(), name="t", project="p"))
    store.enqueue(task.id, "q")
    store.register_worker("w", ["q"], {})
    assert store.claim(["q"], "w") is not None
    reaper = ServerReaper(store, dead_after=30)
    reaper.up_since = time.time() + 100  # the server (re)started long after w's last heartbeat
    assert reaper.reap(now=reaper.up_since + 29) == []
    assert reaper.reap(now=reaper.up_since + 31) == ["w"]
    failed = store.get_task(task.id)
    assert failed.status == TaskStatus.failed
    assert "while up" in failed.status_message
    assert store.list_workers() == []
    store.close()


def test_time_the_store_was_unreachable_does_not_count(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/s.db"
    port = free_port()
    with served(db, tmp_path, port=port) as server:
        remote = HttpTaskStore(server.url, retry_for=0)
        remote.register_worker("w", [], {})
    reaper = ServerReaper(remote, dead_after=30)
    with pytest.raises(StoreConnectionError):
        reaper.reap()
    later = time.time() + 1000  # w has been silent far longer than dead_after...
    with served(db, tmp_path, port=port):
        assert reaper.reap(now=later) == []  # ...but the reaper could not see: counting restarts
        assert reaper.reap(now=later + 29) == []
        assert reaper.reap(now=later + 31) == ["w"]
    remote.close()


def test_dead_after_default_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TASKMILL_SERVER_DEAD_AFTER", raising=False)
    assert dead_after_from_env() == DEFAULT_DEAD_AFTER == 120.0
    monkeypatch.setenv("TASKMILL_SERVER_DEAD_AFTER", "7.5")
    assert dead_after_from_env() == 7.5
    monkeypatch.setenv("TASKMILL_SERVER_DEAD_AFTER", "soon")
    with pytest.raises(ValueError, match="TASKMILL_SERVER_DEAD_AFTER"):
        dead_after_from_env()


def test_taskmill_server_dead_after_option(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "server.log"
    args = [TASKMILL, "server", "--port", str(port), "--store", f"sqlite:///{tmp_path}/s.db", "--no-auth"]
    with log.open("wb") as out:
        proc = subprocess.Popen([*args, "--dead-after", "1.5"], env=cli_env(tmp_path), stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}"
    try:

        def up() -> bool:
            try:
                return httpx.get(url + "/api/v1/health", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        assert wait_until(up, 30), log.read_text()
        remote = HttpTaskStore(url, retry_for=5)
        remote.create_queue("q")
        task = remote.create_task(TaskRecord(id=new_id(), name="t", project="p"))
        remote.enqueue(task.id, "q")
        remote.register_worker("w", ["q"], {})
        assert remote.claim(["q"], "w") is not None
        started = time.monotonic()
        assert wait_until(lambda: remote.get_task(task.id).status == TaskStatus.failed, 10)
        assert time.monotonic() - started >= 1.0  # not before the silence reached --dead-after
        assert "dead after 1.5 s" in log.read_text()
        remote.close()
    finally:
        proc.terminate()
        proc.wait(10)
