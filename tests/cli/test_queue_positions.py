"""``taskmill queues show|enqueue|dequeue``: priorities and positions in a queue."""

from __future__ import annotations

import json

from taskmill.core.model import TaskRecord, new_id
from taskmill.store.base import TaskStore
from tests.cli.conftest import Cli


def _task(store: TaskStore, name: str) -> str:
    return store.create_task(TaskRecord(id=new_id(), name=name, project="q")).id


def test_enqueue_with_priority_and_show_positions(cli: Cli, store: TaskStore) -> None:
    store.create_queue("gpu")
    low, high, later = _task(store, "low"), _task(store, "high"), _task(store, "later")
    assert "at position 1" in cli("queues", "enqueue", low, "--queue", "gpu").stdout
    assert "at position 1" in cli("queues", "enqueue", high, "--queue", "gpu", "--priority", "5").stdout
    assert "at position 3" in cli("queues", "enqueue", later[:8], "--queue", "gpu").stdout
    shown = json.loads(cli("queues", "show", "gpu", "--json").stdout)
    assert [(e["position"], e["name"], e["priority"]) for e in shown] == [
        (1, "high", 5),
        (2, "low", 0),
        (3, "later", 0),
    ]
    table = cli("queues", "show", "gpu").stdout
    assert table.index("high") < table.index("low") < table.index("later")
    cli("queues", "dequeue", high)
    assert [e["name"] for e in json.loads(cli("queues", "show", "gpu", "--json").stdout)] == ["low", "later"]
    assert store.get_task(high).status.value == "created"


def test_enqueue_to_a_missing_queue_names_the_fix(cli: Cli, store: TaskStore) -> None:
    result = cli("queues", "enqueue", _task(store, "t"), "--queue", "nope")
    assert result.exit_code == 1
    assert "taskmill queues create nope" in result.stderr
