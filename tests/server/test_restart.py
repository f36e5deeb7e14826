"""A restarted server loses nothing, and clients carry on: calls made while it is down succeed after."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from taskmill.core.model import LogLine, Param, TaskRecord, new_id
from taskmill.core.states import TaskStatus
from taskmill.errors import StoreConnectionError
from taskmill.server import free_port
from taskmill.store.http import HttpTaskStore
from tests.server.harness import served


def test_restart_loses_nothing_and_waiting_calls_succeed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/store.db"
    port = free_port()
    with served(url, tmp_path, port=port) as first:
        remote = HttpTaskStore(first.url, retry_for=20)
        remote.create_queue("default")
        tasks = [remote.create_task(TaskRecord(id=new_id(), name=f"t{i}", project="p")) for i in range(5)]
        remote.set_params(tasks[0].id, [Param("Args", "lr", 0.1)])
        remote.append_log(tasks[0].id, [LogLine("before the restart")])
        for t in tasks:
            remote.enqueue(t.id, "default")
        claimed_before = remote.claim(["default"], "w1")
        assert claimed_before is not None
        mark = remote.last_event_id()
        outcome: dict[str, object] = {}

        def wait_across_restart() -> None:
            outcome["events"] = remote.wait_events(mark, timeout=15)

        # A long-poll in flight when the server stops is cut; the client polls again after.
        waiter = threading.Thread(target=wait_across_restart)
        waiter.start()
        time.sleep(0.3)

    # The server is down now. A claim made now must succeed once it is back.
    def claim_while_down() -> None:
        started = time.monotonic()
        outcome["claimed"] = remote.claim(["default"], "w2")
        outcome["claim_took"] = time.monotonic() - started

    threads = [threading.Thread(target=claim_while_down), waiter]
    threads[0].start()
    time.sleep(0.8)
    assert "claimed" not in outcome and "events" not in outcome  # both still waiting for the server

    with served(url, tmp_path, port=port) as second:
        for th in threads:
            th.join(15)
        claimed = outcome["claimed"]
        assert isinstance(claimed, TaskRecord) and claimed.worker == "w2"
        assert 0.7 < float(outcome["claim_took"]) < 5.0  # type: ignore[arg-type]
        events = outcome["events"]
        assert isinstance(events, list) and [e.kind for e in events][:1] == ["task.status"]

        # Everything written before the restart is there.
        assert {t.name for t in remote.find_tasks()} == {f"t{i}" for i in range(5)}
        assert remote.get_param_dict(tasks[0].id) == {"Args/lr": 0.1}
        assert [ln.text for ln in remote.get_log(tasks[0].id)] == ["before the restart"]
        assert remote.get_task(claimed_before.id).status == TaskStatus.in_progress
        assert remote.get_queue("default").depth == 3
        assert second.store.get_task(claimed.id).status == TaskStatus.in_progress
    remote.close()


def test_gives_up_naming_the_url(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    remote = HttpTaskStore(url, retry_for=0.5)
    started = time.monotonic()
    with pytest.raises(StoreConnectionError, match=f"cannot reach the taskmill server at {url}"):
        remote.list_queues()
    assert 0.3 < time.monotonic() - started < 3.0
    remote.close()
