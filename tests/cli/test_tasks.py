"""``taskmill tasks list/show/logs`` against a real SQLite store."""

from __future__ import annotations

import json
import threading
import time

import pytest
from typer.testing import CliRunner

from taskmill.cli.main import app
from taskmill.core.model import LogLine, Param, TaskRecord, new_id
from taskmill.core.states import TaskStatus
from taskmill.store.base import TaskStore
from taskmill.store.factory import open_store
from tests.cli.conftest import Cli, World


def _json_ids(cli: Cli, *args: str) -> list[str]:
    result = cli("tasks", "list", "--json", *args)
    assert result.exit_code == 0, result.output
    return [t["id"] for t in json.loads(result.stdout)]


# -- list ----------------------------------------------------------------------------------------


def test_list_table_shows_short_ids_labels_and_newest_first(cli: Cli, world: World) -> None:
    result = cli("tasks", "list")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["ID", "Name", "Project"]
    rows = [ln for ln in lines[2:] if ln.strip()]
    assert [r.split()[0] for r in rows] == [
        world.draft[:8],
        world.ctrl[:8],
        world.prep[:8],
        world.evaluate[:8],
        world.train[:8],
    ]
    assert world.train not in result.stdout  # full ids only in --json
    train_row = rows[-1]
    for cell in ("train resnet", "vision", "training", "Completed"):
        assert cell in train_row
    assert "Aborted" in rows[1] and "Pending" in rows[2] and "Running" in rows[3] and "Draft" in rows[0]
    assert "ago" in train_row or "just now" in train_row


def test_list_json_has_full_records(cli: Cli, world: World) -> None:
    result = cli("tasks", "list", "--json")
    data = json.loads(result.stdout)
    assert data[-1]["id"] == world.train and len(world.train) == 32
    assert data[-1]["status"] == "completed" and data[-1]["tags"] == ["nightly"]
    assert data[-1]["script"]["entry_point"] == "train.py"


def test_list_filters(cli: Cli, world: World) -> None:
    assert set(_json_ids(cli, "--project", "vision")) == {world.train, world.draft}
    assert set(_json_ids(cli, "-p", "vision", "--recursive")) == {
        world.train,
        world.draft,
        world.evaluate,
        world.ctrl,
    }
    assert _json_ids(cli, "--status", "aborted") == [world.ctrl]  # the UI label of "stopped"
    assert set(_json_ids(cli, "-s", "running", "-s", "pending")) == {world.evaluate, world.prep}
    assert set(_json_ids(cli, "-s", "completed,draft")) == {world.train, world.draft}
    assert set(_json_ids(cli, "--tag", "nightly")) == {world.train, world.draft}
    assert _json_ids(cli, "-t", "nightly", "-t", "gpu") == [world.draft]
    assert _json_ids(cli, "--type", "controller") == [world.ctrl]
    assert _json_ids(cli, "--name", "RESNET") == [world.train]
    assert _json_ids(cli, "--parent", world.train[:6]) == [world.evaluate]
    assert _json_ids(cli, "--limit", "2") == [world.draft, world.ctrl]


def test_list_limit_note_and_empty_result(cli: Cli, world: World) -> None:
    result = cli("tasks", "list", "-n", "1")
    assert result.exit_code == 0
    assert "use --limit to see more" in result.stderr
    result = cli("tasks", "list", "--project", "nope")
    assert result.exit_code == 0 and "No tasks match." in result.stderr and result.stdout == ""
    assert json.loads(cli("tasks", "list", "--project", "nope", "--json").stdout) == []


def test_list_bad_status_and_recursive_without_project(cli: Cli, world: World) -> None:
    result = cli("tasks", "list", "--status", "sleeping")
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "Error: unknown task status 'sleeping'; expected one of: created, queued, in_progress, stopped, "
        "completed, failed, published"
    )
    result = cli("tasks", "list", "-r")
    assert result.exit_code == 2 and "--recursive needs --project" in result.output


# -- show ----------------------------------------------------------------------------------------


def test_show_renders_every_section(cli: Cli, world: World) -> None:
    result = cli("tasks", "show", world.train)
    assert result.exit_code == 0, result.output
    out = result.stdout
    for expected in (
        f"Task {world.train}",
        "train resnet",
        "Completed  all epochs done",
        "nightly",
        "train.py",
        "git@example.com:acme/vision.git",
        "0123456789abcdef",
        "yes (3 lines)",
        "Parameters (3)",
        "Args/lr",
        "0.001",
        "float",
        "General/optimizer",
        "model_config",
        "Artifacts (1)",
        "3.0 MiB",
        "sha256:abababab",
        "file:///data/weights.pt",
        "loss / train",
        "resnet50",
        "pytorch",
    ):
        assert expected in out, expected
    scalar_row = next(ln for ln in out.splitlines() if "loss / train" in ln).split()
    assert scalar_row[3:] == ["0.25", "3", "0.25", "1", "4"]  # last, iteration, min, max, count


def test_show_parent_and_status_reason(cli: Cli, world: World) -> None:
    out = cli("tasks", "show", world.evaluate).stdout
    assert f"{world.train}  (train resnet)" in out
    assert "Aborted  stopped by user" in cli("tasks", "show", world.ctrl).stdout


def test_show_json(cli: Cli, world: World) -> None:
    data = json.loads(cli("tasks", "show", world.train[:8], "--json").stdout)
    assert data["id"] == world.train
    assert data["status_message"] == "all epochs done"
    assert {p["key"]: p["value"] for p in data["parameters"]} == {
        "Args/lr": 0.001,
        "Args/epochs": 10,
        "General/optimizer": "adam",
    }
    assert data["artifacts"][0]["name"] == "weights" and data["artifacts"][0]["size"] == 3 * 1024 * 1024
    assert data["scalars"] == [
        {
            "title": "loss",
            "series": "train",
            "count": 4,
            "last_iteration": 3,
            "last_value": 0.25,
            "min_value": 0.25,
            "max_value": 1.0,
        }
    ]
    assert data["models"][0]["name"] == "resnet50"
    assert data["configuration"][0]["name"] == "model_config"


def test_show_resolves_unique_prefix(cli: Cli, world: World) -> None:
    result = cli("tasks", "show", world.prep[:4].upper())  # prefixes are case-insensitive, like ids
    assert result.exit_code == 0, result.output
    assert f"Task {world.prep}" in result.stdout


def test_show_accepts_full_id_in_upper_case(cli: Cli, world: World) -> None:
    result = cli("tasks", "show", world.train.upper(), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["id"] == world.train


def test_show_ambiguous_prefix_lists_matches(cli: Cli, store: TaskStore) -> None:
    a = store.create_task(TaskRecord(id="abcd" + new_id()[4:], name="first", project="p"))
    b = store.create_task(TaskRecord(id="abcd" + new_id()[4:], name="second", project="p"))
    result = cli("tasks", "show", "abcd")
    assert result.exit_code == 1
    assert "task id prefix 'abcd' is ambiguous: it matches 2 tasks" in result.stderr
    assert a.id in result.stderr and b.id in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("ref", ["0123456789abcdef0123456789abcdef", "zzzzzz", "abc"])
def test_show_unknown_id(cli: Cli, world: World, ref: str) -> None:
    result = cli("tasks", "show", ref)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: no task with id '{ref}' in the store")
    assert result.stderr.count("\n") == 1 and result.stdout == ""


def test_store_option_overrides_environment(store_url: str, world: World) -> None:
    # An unusable URL in the environment: the command only succeeds if --store wins.
    env = {"TASKMILL_STORE": "http://wrong.invalid", "COLUMNS": "200"}
    result = CliRunner().invoke(app, ["--store", store_url, "tasks", "show", world.train, "--json"], env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["id"] == world.train


def test_user_text_is_printed_literally(cli: Cli, store: TaskStore) -> None:
    weird = "[/bold] run [debug] :tada:"
    task = store.create_task(TaskRecord(id=new_id(), name=weird, project="p", tags=(weird,)))
    store.set_params(task.id, [Param("Args", "level", "[red]x[/red]")])
    listed = cli("tasks", "list")
    assert listed.exit_code == 0, listed.output
    assert weird in listed.stdout
    shown = cli("tasks", "show", task.id)
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.count(weird) == 2 and "[red]x[/red]" in shown.stdout


# -- logs ----------------------------------------------------------------------------------------


def test_logs_plain_tail_and_json(cli: Cli, world: World) -> None:
    assert cli("tasks", "logs", world.train).stdout == "".join(f"epoch {i}\n" for i in range(1, 6))
    assert cli("tasks", "logs", world.train[:5], "--tail", "2").stdout == "epoch 4\nepoch 5\n"
    data = json.loads(cli("tasks", "logs", world.train, "--json", "-n", "1").stdout)
    assert [(ln["seq"], ln["text"]) for ln in data] == [(5, "epoch 5")]


def test_logs_text_is_not_rich_markup(cli: Cli, store: TaskStore, world: World) -> None:
    store.append_log(world.evaluate, [LogLine("[bold]not markup[/bold] {x}")])
    assert cli("tasks", "logs", world.evaluate).stdout == "[bold]not markup[/bold] {x}\n"


def test_logs_follow_rejects_json(cli: Cli, world: World) -> None:
    result = cli("tasks", "logs", world.train, "-f", "--json")
    assert result.exit_code == 2 and "--json cannot be combined with --follow" in result.output


@pytest.mark.timeout(20)
def test_logs_follow_exits_when_task_completes(cli: Cli, store_url: str, world: World) -> None:
    def finish_later() -> None:
        # A separate store handle, as a real worker process would have.
        writer = open_store(store_url)
        try:
            time.sleep(0.4)
            writer.append_log(world.evaluate, [LogLine("step 1")])
            time.sleep(0.4)
            writer.append_log(world.evaluate, [LogLine("step 2")])
            writer.set_status(world.evaluate, TaskStatus.completed)
        finally:
            writer.close()

    thread = threading.Thread(target=finish_later)
    start = time.monotonic()
    thread.start()
    result = cli("tasks", "logs", world.evaluate, "--follow")
    thread.join()
    assert result.exit_code == 0, result.output
    assert result.stdout == "step 1\nstep 2\n"
    assert "ended: Completed" in result.stderr
    assert 0.8 <= time.monotonic() - start < 10


def test_logs_follow_on_finished_task_returns_at_once(cli: Cli, world: World) -> None:
    start = time.monotonic()
    result = cli("tasks", "logs", world.train, "-f", "--tail", "1")
    assert result.exit_code == 0 and result.stdout == "epoch 5\n"
    assert time.monotonic() - start < 2


def test_status_labels_are_coloured_on_a_terminal(cli: Cli, world: World) -> None:
    # FORCE_COLOR makes rich treat the captured stdout as a colour terminal.
    result = CliRunner().invoke(app, ["tasks", "list"], env={**cli.env(), "FORCE_COLOR": "1"})
    assert result.exit_code == 0, result.output
    assert "\x1b[32mCompleted" in result.stdout  # green
    assert "\x1b[35mAborted" in result.stdout  # magenta
