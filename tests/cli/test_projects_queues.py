"""``taskmill projects`` and ``taskmill queues`` against a real SQLite store."""

from __future__ import annotations

import json

from taskmill.core.states import TaskStatus
from taskmill.store.base import TaskStore
from tests.cli.conftest import Cli, World


def _rows(stdout: str) -> dict[str, list[str]]:
    """Table body rows keyed by their first cell (skips the header and its underline)."""
    return {ln.split()[0]: ln.split()[1:] for ln in stdout.splitlines()[2:] if ln.strip()}


def test_projects_list_hides_hidden_projects(cli: Cli, world: World) -> None:
    result = cli("projects", "list")
    assert result.exit_code == 0, result.output
    rows = _rows(result.stdout)
    assert set(rows) == {"data", "vision", "vision/sub"}
    assert rows["vision"][0] == "2"  # tasks directly in the project
    assert set(_rows(cli("projects", "list", "--all").stdout)) == {
        "data",
        "vision",
        "vision/sub",
        "vision/.pipelines",
        "vision/.pipelines/p",
    }


def test_projects_list_json(cli: Cli, world: World) -> None:
    data = json.loads(cli("projects", "list", "--all", "--json").stdout)
    by_name = {p["name"]: p for p in data}
    assert by_name["vision/.pipelines/p"]["hidden"] is True
    assert by_name["vision"]["task_count"] == 2 and by_name["vision"]["hidden"] is False


def test_projects_list_empty_store(cli: Cli) -> None:
    result = cli("projects", "list")
    assert result.exit_code == 0 and "No projects yet." in result.stderr


def test_queues_create_list_delete(cli: Cli, store: TaskStore) -> None:
    initial = [q.name for q in store.list_queues()]  # new stores may come with default queues
    result = cli("queues", "list")
    assert result.exit_code == 0
    assert all(n in result.stdout for n in initial) if initial else "No queues yet" in result.stderr

    result = cli("queues", "create", "gpu")
    assert result.exit_code == 0 and result.stdout.startswith("Created queue 'gpu' (id ")
    assert cli("queues", "create", "gpu").stdout == "Queue 'gpu' already exists.\n"

    assert _rows(cli("queues", "list").stdout)["gpu"][0] == "0"
    data = json.loads(cli("queues", "list", "--json").stdout)
    assert [(q["name"], q["depth"]) for q in data if q["name"] not in initial] == [("gpu", 0)]

    result = cli("queues", "delete", "gpu")
    assert result.exit_code == 0 and result.stdout == "Deleted queue 'gpu'.\n"
    assert [q.name for q in store.list_queues()] == initial


def test_queues_list_shows_depth(cli: Cli, world: World) -> None:
    assert _rows(cli("queues", "list").stdout)["default"][0] == "1"


def test_queue_delete_refuses_with_waiting_tasks_unless_forced(
    cli: Cli, store: TaskStore, world: World
) -> None:
    result = cli("queues", "delete", "default")
    assert result.exit_code == 1
    assert "queue 'default' still holds 1 task(s)" in result.stderr
    assert "taskmill queues delete default --force" in result.stderr
    assert store.get_queue("default").depth == 1

    result = cli("queues", "delete", "default", "--force")
    assert result.exit_code == 0, result.output
    assert store.get_task(world.prep).status == TaskStatus.created  # back to draft


def test_queue_delete_unknown(cli: Cli) -> None:
    result = cli("queues", "delete", "nope")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: no queue named 'nope'")
