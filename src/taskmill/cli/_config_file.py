"""Reading and writing the config file ``$TASKMILL_HOME/config.toml`` for ``login`` and ``config``.

:mod:`taskmill.config` reads the file (and owns its location, keys and validation); this module
adds what the CLI needs on top: the raw contents (to tell which setting came from the file) and
an atomic writer. :func:`update_config` changes top-level keys and keeps everything else in the
file (other keys and tables such as ``[server]``), though not its comments or layout. Writing
replaces the file in one rename and makes it readable by its owner only (it can hold an API key).
"""

from __future__ import annotations

import json
import os
import tempfile
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from taskmill.errors import ConfigError

#: The environment variable overriding each top-level setting (see :mod:`taskmill.config`).
ENV_VARS = {
    "home": "TASKMILL_HOME",
    "store": "TASKMILL_STORE",
    "artifacts": "TASKMILL_ARTIFACTS",
    "output_uri": "TASKMILL_OUTPUT_URI",
    "api_key": "TASKMILL_API_KEY",
}


def config_path(home: Path) -> Path:
    """Where the config file of ``home`` lives."""
    return home / "config.toml"


def read_config(path: Path) -> dict[str, Any]:
    """The file's parsed contents; empty when it does not exist. Raises ConfigError when unreadable."""
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}; fix or remove it") from exc


def _value(value: object) -> str:
    # JSON strings, numbers and arrays of them are valid TOML (JSON escapes are TOML escapes).
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise ValueError(f"cannot write {type(value).__name__} values to the config file")


def dumps(data: Mapping[str, Any], prefix: str = "") -> str:
    """TOML text for ``data``: plain keys first, then one ``[table]`` section per nested mapping."""
    lines = [f"{k} = {_value(v)}" for k, v in data.items() if not isinstance(v, Mapping)]
    text = "".join(line + "\n" for line in lines)
    for key, table in data.items():
        if isinstance(table, Mapping):
            name = f"{prefix}{key}"
            text += f"\n[{name}]\n" + dumps(table, prefix=f"{name}.")
    return text


def write_config(path: Path, data: Mapping[str, Any]) -> None:
    """Replace the file with ``data``, atomically, mode 0600."""
    text = "# written by taskmill (login); see `taskmill config show --sources`\n" + dumps(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".config-", suffix=".toml", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def update_config(path: Path, changes: Mapping[str, str]) -> dict[str, Any]:
    """Set the top-level ``changes`` in the file, keeping everything else; returns what was written."""
    data = {**read_config(path), **changes}
    write_config(path, data)
    return data
