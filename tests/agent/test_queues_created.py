"""Agents create the queues they serve: ``taskmill agent --queue X`` on a store without X."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from taskmill import Task
from taskmill.core.states import TaskStatus
from taskmill.errors import QueueNotFoundError
from taskmill.store.base import TaskStore
from taskmill.store.http import HttpTaskStore
from tests.agent.conftest import TASKMILL, Agents, record, script_task, wait_for, write
from tests.server.harness import served


def _queue_exists(store: TaskStore, name: str) -> bool:
    try:
        store.get_queue(name)
    except QueueNotFoundError:
        return False
    return True


def test_agent_creates_a_missing_queue_and_serves_it(
    tmp_path: Path, agents: Agents, store: TaskStore
) -> None:
    assert not _queue_exists(store, "fresh-q")
    proc = agents.start("--queue", "fresh-q", "--max-tasks", "1", "--heartbeat", "0.5")
    wait_for(lambda: _queue_exists(store, "fresh-q"), 30, "the agent to create queue fresh-q")
    task = script_task(write(tmp_path / "hello.py", "print('hello from fresh-q')\n"))
    Task.enqueue(task, queue_name="fresh-q")
    assert proc.wait(60) == 0, agents.output(proc)
    assert record(store, task).status == TaskStatus.completed
    assert "created queue 'fresh-q' (it did not exist)" in agents.output(proc)


def test_existing_queue_is_not_announced_and_opt_out_refuses(agents: Agents, store: TaskStore) -> None:
    result = agents.run("-q", "default", "--burst")
    assert result.returncode == 0, result.stderr
    assert "created queue" not in result.stderr
    refused = agents.run("-q", "nope", "--burst", "--no-create-queue")
    assert refused.returncode == 1
    assert "no queue named 'nope'" in refused.stderr
    assert not _queue_exists(store, "nope")


def test_services_mode_on_a_fresh_server(tmp_path: Path, tm_home: Path) -> None:
    with served(f"sqlite:///{tmp_path}/server.db", tmp_path, auth=True) as server:
        key = server.store.create_api_key("agent")[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("TASKMILL_")}
        env.update(TASKMILL_HOME=str(tm_home), TASKMILL_STORE=server.url, TASKMILL_API_KEY=key)
        result = subprocess.run(
            [TASKMILL, "agent", "--queue", "services", "--services-mode", "--burst", "--heartbeat", "0.5"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        assert "serving services (services mode, up to 8 at once)" in result.stderr
        remote = HttpTaskStore(server.url, key)
        try:
            assert remote.get_queue("services").depth == 0
        finally:
            remote.close()
