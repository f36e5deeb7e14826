"""The HTTP store's transport through an outage: the retry window, and what it says meanwhile."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import pytest

from taskmill.errors import StoreConnectionError
from taskmill.server import free_port
from taskmill.store.http import HttpTaskStore
from taskmill.store.http_transport import DEFAULT_RETRY_FOR, retry_window_from_env
from tests.server.harness import served


def test_retry_window_default_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TASKMILL_STORE_RETRY", raising=False)
    assert retry_window_from_env() == DEFAULT_RETRY_FOR == 600.0
    monkeypatch.setenv("TASKMILL_STORE_RETRY", "0")
    assert retry_window_from_env() == 0.0
    monkeypatch.setenv("TASKMILL_STORE_RETRY", "-1")
    with pytest.raises(ValueError, match="TASKMILL_STORE_RETRY"):
        retry_window_from_env()


def test_the_default_window_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TASKMILL_STORE_RETRY", "0.3")
    store = HttpTaskStore(f"http://127.0.0.1:{free_port()}")  # nothing listens there
    started = time.monotonic()
    with pytest.raises(StoreConnectionError, match="TASKMILL_STORE_RETRY"):
        store.list_queues()
    assert time.monotonic() - started < 5
    store.close()


def test_calls_wait_through_a_restart_and_say_so_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = f"sqlite:///{tmp_path}/s.db"
    port = free_port()
    with served(db, tmp_path, port=port) as server:
        store = HttpTaskStore(server.url, retry_for=30)
        store.create_queue("q")
    results: list[object] = []

    def call() -> None:
        results.append("q" in [q.name for q in store.list_queues()])

    caplog.set_level(logging.WARNING, logger="taskmill.store.http_transport")
    threads = [threading.Thread(target=call) for _ in range(3)]
    for th in threads:
        th.start()
    time.sleep(1.0)
    assert results == []  # all blocked, waiting for the server
    with served(db, tmp_path, port=port):
        for th in threads:
            th.join(20)
        assert results == [True] * 3
    lines = [r.getMessage() for r in caplog.records]
    assert sum("unreachable since" in line for line in lines) == 1, lines  # one per outage, not per call
    assert any("reachable again after" in line for line in lines), lines
    store.close()
