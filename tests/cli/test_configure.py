"""``taskmill login`` against a real server, and ``taskmill config show --sources``."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from typer.testing import CliRunner, Result

from taskmill.cli._config_file import read_config, write_config
from taskmill.cli.main import app
from tests.server.harness import served

_UNSET = ("TASKMILL_STORE", "TASKMILL_API_KEY", "TASKMILL_ARTIFACTS", "TASKMILL_OUTPUT_URI")


def run(home: Path, *args: str, **env: str) -> Result:
    environ: dict[str, str | None] = {k: None for k in _UNSET}
    environ.update(TASKMILL_HOME=str(home), COLUMNS="200", **env)
    return CliRunner().invoke(app, list(args), env=environ)


def test_login_verifies_the_key_then_writes_the_config(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with served(f"sqlite:///{tmp_path}/server.db", tmp_path, auth=True) as server:
        key_id, key = server.store.create_api_key("laptop")
        bad = run(home, "login", server.url, "--key", "tm_nope_nope")
        assert bad.exit_code == 1 and "refused the key: unknown API key" in bad.stderr
        assert not (home / "config.toml").exists()  # nothing written for a refused key

        (home / "config.toml").parent.mkdir(parents=True)
        (home / "config.toml").write_text(
            'output_uri = "file:///o"\n[server]\nartifact_allow = ["/d", "s3://b/p"]\n'
        )
        good = run(home, "login", server.url + "/", "--key", key)
        assert good.exit_code == 0, good.output
        assert f"Logged in to {server.url}" in good.stdout
        path = home / "config.toml"
        assert read_config(path) == {
            "output_uri": "file:///o",
            "server": {"artifact_allow": ["/d", "s3://b/p"]},  # other keys and tables are kept
            "store": server.url,
            "api_key": key,
        }
        assert stat.S_IMODE(path.stat().st_mode) == 0o600

        shown = run(home, "config", "show", "--sources", "--json")
        rows = {r["key"]: r for r in json.loads(shown.stdout)["settings"]}
        assert rows["store"] == {"key": "store", "value": server.url, "source": "file"}
        assert rows["api_key"]["value"] == f"tm_{key_id}_****" and rows["api_key"]["source"] == "file"
        assert key not in shown.stdout

        # the CLI now reaches the server through the file alone
        listed = run(home, "queues", "list", "--json")
        assert listed.exit_code == 0, listed.output

    gone = run(home, "login", server.url, "--key", key)
    assert gone.exit_code == 1 and f"cannot reach {server.url}" in gone.stderr


def test_config_show_sources(tmp_path: Path) -> None:
    home = tmp_path / "home"
    write_config(home / "config.toml", {"output_uri": "file:///srv/out"})
    result = run(
        home, "--store", "sqlite:////tmp/flag.db", "config", "show", "--sources", TASKMILL_ARTIFACTS="/data/a"
    )
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines()[2:] if line.strip()}
    assert lines["home"] == [str(home), "env"]
    assert lines["store"] == ["sqlite:////tmp/flag.db", "flag"]
    assert lines["artifacts"] == ["/data/a", "env"]
    assert lines["output_uri"] == ["file:///srv/out", "file"]
    assert lines["api_key"] == ["-", "default"]
    plain = run(home, "config", "show")
    assert (
        plain.exit_code == 0 and "Source" not in plain.stdout and f"sqlite:///{home}/store.db" in plain.stdout
    )
