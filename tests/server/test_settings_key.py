"""The API key setting: from TASKMILL_API_KEY or the config file, passed on to children, never printed."""

from __future__ import annotations

from pathlib import Path

from taskmill.config import Settings


def test_api_key_sources_and_children(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('api_key = "tm_from_file"\n')
    from_file = Settings.from_env({"TASKMILL_HOME": str(tmp_path)})
    assert from_file.api_key == "tm_from_file"
    from_env = Settings.from_env({"TASKMILL_HOME": str(tmp_path), "TASKMILL_API_KEY": "tm_from_env"})
    assert from_env.api_key == "tm_from_env"
    assert from_env.to_env()["TASKMILL_API_KEY"] == "tm_from_env"
    assert "tm_from_env" not in repr(from_env)
    assert "TASKMILL_API_KEY" not in Settings.from_env({"TASKMILL_HOME": str(tmp_path / "x")}).to_env()
