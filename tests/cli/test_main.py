"""The root command: help texts, global options, error reporting, the installed script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from taskmill import __version__
from taskmill.cli.main import app
from tests.cli.conftest import Cli, World

TASKMILL = Path(sys.executable).with_name("taskmill")

COMMANDS = [
    ("tasks", "list"),
    ("tasks", "show"),
    ("tasks", "logs"),
    ("projects", "list"),
    ("queues", "list"),
    ("queues", "create"),
    ("queues", "delete"),
    ("tasks", "abort"),
    ("tasks", "clone"),
    ("tasks", "delete"),
    ("tasks", "archive"),
    ("tasks", "artifacts", "get"),
    ("datasets", "create"),
    ("datasets", "add"),
    ("datasets", "finalize"),
    ("datasets", "list"),
    ("datasets", "get"),
    ("config", "show"),
    ("dev",),
    ("run-remote",),
    ("login",),
]


def test_root_help_lists_groups(cli: Cli) -> None:
    result = cli("--help")
    assert result.exit_code == 0
    for word in ("--store", "tasks", "projects", "queues", "Examples"):
        assert word in result.stdout


@pytest.mark.parametrize("group", ["tasks", "projects", "queues"])
def test_group_help(cli: Cli, group: str) -> None:
    result = cli(group, "--help")
    assert result.exit_code == 0 and "Commands" in result.stdout


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_command_help_has_examples(cli: Cli, command: tuple[str, ...]) -> None:
    result = cli(*command, "--help")
    assert result.exit_code == 0, result.output
    assert "Usage: taskmill " + " ".join(command) in " ".join(result.stdout.split())
    assert "Example" in result.stdout and f"taskmill {' '.join(command)}" in result.stdout


def test_version(cli: Cli) -> None:
    assert cli("--version").stdout == f"taskmill {__version__}\n"


def test_help_works_with_a_broken_config_file(cli: Cli) -> None:
    cli.home.mkdir()
    (cli.home / "config.toml").write_text("store = [unclosed")
    assert cli("tasks", "list", "--help").exit_code == 0
    # ...while a command that needs the store reports the problem in one line.
    result = CliRunner().invoke(
        app, ["tasks", "list"], env={"TASKMILL_HOME": str(cli.home), "TASKMILL_STORE": ""}
    )
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: cannot read config file") and "Traceback" not in result.output


def test_unreachable_server_is_a_clean_error(cli: Cli) -> None:
    result = cli("--store", "http://127.0.0.1:9", "queues", "list")  # nothing listens on port 9
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: cannot reach the taskmill server at http://127.0.0.1:9")


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **env}
    return subprocess.run([str(TASKMILL), *args], capture_output=True, text=True, env=full_env, timeout=60)


def test_installed_script(cli: Cli, world: World) -> None:
    assert TASKMILL.exists(), f"console script not installed next to {sys.executable}"
    env = {"TASKMILL_HOME": str(cli.home), "TASKMILL_STORE": "", "COLUMNS": "200"}
    done = _run("--store", cli.url, "tasks", "list", "--json", "--status", "aborted", env=env)
    assert done.returncode == 0, done.stderr
    assert [t["id"] for t in json.loads(done.stdout)] == [world.ctrl]

    done = _run("--store", cli.url, "tasks", "show", world.train[:8], env=env)
    assert done.returncode == 0, done.stderr
    assert f"Task {world.train}" in done.stdout

    done = _run("--store", cli.url, "tasks", "show", "feedbeef", env=env)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.startswith("Error: no task with id 'feedbeef' in the store")
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1


def test_cli_import_stays_light() -> None:
    code = (
        "import sys, taskmill.cli.main; "
        "print(sorted(m for m in ('numpy', 'pandas', 'fsspec', 'pyarrow') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"


def test_python_dash_m_taskmill() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "taskmill", "--version"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"taskmill {__version__}\n"


@pytest.mark.parametrize(
    ("command", "code", "line"),
    [
        (("tasks", "list"), 0, "No tasks match. (no store at {db} yet: nothing has been tracked here)"),
        (
            ("queues", "list"),
            0,
            "No queues yet; create one with `taskmill queues create NAME`. (no store at {db}",
        ),
        (("datasets", "list"), 0, "No datasets match. (no store at {db} yet"),
        (
            ("tasks", "show", "feedbeef"),
            1,
            "Error: no store at {db} yet (nothing has been tracked here); run",
        ),
        (("pipelines", "show", "feedbeef"), 1, "Error: no store at {db} yet"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, tuple) else "",
)
def test_read_only_commands_never_create_a_store(
    tmp_path: Path, command: tuple[str, ...], code: int, line: str
) -> None:
    home = tmp_path / "empty"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKMILL_")}
    done = subprocess.run(
        [str(TASKMILL), *command],
        capture_output=True,
        text=True,
        env={**env, "TASKMILL_HOME": str(home), "COLUMNS": "300"},
        timeout=60,
    )
    assert (done.returncode, done.stdout) == (code, ""), done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(line.format(db=home / "store.db")), done.stderr
    assert list(home.iterdir()) == []


def test_store_upgrade_is_idempotent(cli: Cli, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    first = cli("store", "upgrade", url)
    assert first.exit_code == 0, first.output
    assert first.stdout.startswith("Upgraded the store schema from revision none (empty) to ")
    again = cli("store", "upgrade", url)
    assert again.exit_code == 0 and "nothing to do" in again.stdout
    remote = cli("store", "upgrade", "http://127.0.0.1:9")
    assert (
        remote.exit_code == 1 and "is a taskmill server: upgrade its database on the server" in remote.stderr
    )
