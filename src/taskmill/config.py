"""Settings: where the store and artifacts live, read once at an entry point and passed down.

Sources, highest priority first:

1. environment variables ``TASKMILL_HOME``, ``TASKMILL_STORE``, ``TASKMILL_ARTIFACTS``,
   ``TASKMILL_OUTPUT_URI``, ``TASKMILL_API_KEY`` (the key for a ``taskmill server`` store),
   ``TASKMILL_SERVER_ARTIFACT_ALLOW`` (comma-separated prefixes a ``taskmill server`` may also read
   artifact bytes from, besides its artifact location), ``TASKMILL_DATAFRAME_FORMAT`` (``parquet``,
   the default, or ``csv.gz``: ClearML's DataFrame artifact format); and,
   set by agents, launchers and ``taskmill pipelines resume``:
   ``TASKMILL_TASK_ID``, ``TASKMILL_RESUME``, ``TASKMILL_RECOMPUTE``, ``TASKMILL_PIPELINE_MODE``;
2. the config file ``$TASKMILL_HOME/config.toml`` (keys ``store``, ``artifacts``, ``output_uri``,
   ``api_key``, ``dataframe_format``, and ``server.artifact_allow``: a list of prefixes);
3. defaults: home ``~/.taskmill``, store ``sqlite:///$TASKMILL_HOME/store.db``, artifacts
   ``$TASKMILL_HOME/artifacts``.

Only entry points (the CLI, ``Task.init`` and friends, agents) call :meth:`Settings.from_env`; the
layers below receive plain values.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from taskmill.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Settings:
    """Resolved settings. Immutable; use :meth:`with_` to derive a changed copy."""

    home: Path
    store_url: str
    artifacts_uri: str
    output_uri: str = ""  #: default artifact destination of new tasks ("" = artifacts_uri)
    #: True when the artifact location was given (environment or config file), not defaulted:
    #: with a server store, a defaulted location means "use the server's"
    artifacts_explicit: bool = False
    task_id: str = ""  #: set when this process runs a task for an agent or a local launcher
    resume: bool = False  #: TASKMILL_RESUME=1: continue the attached pipeline run instead of restarting it
    recompute: str = ""  #: TASKMILL_RECOMPUTE: "all" or comma-separated step names to recompute
    pipeline_mode: str = ""  #: TASKMILL_PIPELINE_MODE: force "process" or "debug" for a re-run pipeline
    #: TASKMILL_API_KEY: secret sent to an HTTP store (``taskmill server``); "" = none. Not in repr().
    api_key: str = field(default="", repr=False)
    #: TASKMILL_SERVER_ARTIFACT_ALLOW / ``server.artifact_allow``: locations (absolute folders, URLs
    #: with a host) a ``taskmill server`` may read artifact bytes from besides ``artifacts_uri``
    server_artifact_allow: tuple[str, ...] = ()
    #: TASKMILL_DATAFRAME_FORMAT / ``dataframe_format``: how DataFrame artifacts are written
    #: ("parquet", or ClearML's "csv.gz" for code that reads them back with pandas' csv reader)
    dataframe_format: str = "parquet"

    @property
    def cache_dir(self) -> Path:
        """Where downloaded artifacts and files are cached."""
        return self.home / "cache"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``environ`` (default ``os.environ``) and the config file."""
        env = os.environ if environ is None else environ
        home = Path(env.get("TASKMILL_HOME") or Path.home() / ".taskmill").expanduser()
        file_cfg = _read_config_file(home / "config.toml")
        store = env.get("TASKMILL_STORE") or file_cfg.get("store") or f"sqlite:///{home / 'store.db'}"
        artifacts = env.get("TASKMILL_ARTIFACTS") or file_cfg.get("artifacts") or str(home / "artifacts")
        output_uri = env.get("TASKMILL_OUTPUT_URI") or file_cfg.get("output_uri") or ""
        api_key = env.get("TASKMILL_API_KEY") or file_cfg.get("api_key") or ""
        allow = env.get("TASKMILL_SERVER_ARTIFACT_ALLOW") or file_cfg.get("server.artifact_allow") or ""
        frames = env.get("TASKMILL_DATAFRAME_FORMAT") or file_cfg.get("dataframe_format") or "parquet"
        return cls(
            home=home,
            store_url=store,
            artifacts_uri=artifacts,
            artifacts_explicit=bool(env.get("TASKMILL_ARTIFACTS") or file_cfg.get("artifacts")),
            output_uri=output_uri,
            task_id=env.get("TASKMILL_TASK_ID", ""),
            resume=env.get("TASKMILL_RESUME", "") in ("1", "true", "yes"),
            recompute=env.get("TASKMILL_RECOMPUTE", ""),
            pipeline_mode=env.get("TASKMILL_PIPELINE_MODE", ""),
            api_key=api_key,
            server_artifact_allow=tuple(p.strip() for p in allow.split(",") if p.strip()),
            dataframe_format=frames,
        )

    def with_(self, **changes: object) -> Settings:
        """A copy with some fields changed."""
        return replace(self, **changes)  # type: ignore[arg-type]

    def to_env(self) -> dict[str, str]:
        """Environment variables that make a child process use the same settings."""
        env = {"TASKMILL_HOME": str(self.home), "TASKMILL_STORE": self.store_url}
        if self.artifacts_explicit:  # else the child derives the same default (or the server's)
            env["TASKMILL_ARTIFACTS"] = self.artifacts_uri
        if self.output_uri:
            env["TASKMILL_OUTPUT_URI"] = self.output_uri
        if self.api_key:
            env["TASKMILL_API_KEY"] = self.api_key
        if self.dataframe_format != "parquet":
            env["TASKMILL_DATAFRAME_FORMAT"] = self.dataframe_format
        return env


def _read_config_file(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    import tomllib  # lazy: most processes have no config file (~3 ms of import saved)

    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}; fix or remove it") from exc
    allowed = {"store", "artifacts", "output_uri", "api_key", "server"}
    unknown = set(data) - allowed
    if unknown:
        raise ConfigError(f"config file {path}: unknown keys {sorted(unknown)}; allowed: {sorted(allowed)}")
    server = data.pop("server", {})
    prefixes = server.get("artifact_allow", []) if isinstance(server, dict) else None
    if (
        not isinstance(server, dict)
        or set(server) - {"artifact_allow"}
        or not isinstance(prefixes, list)
        or not all(isinstance(p, str) for p in prefixes)
    ):
        raise ConfigError(
            f"config file {path}: the only server key is server.artifact_allow, a list of prefixes "
            '(server.artifact_allow = ["/data/models", "s3://bucket/prefix"])'
        )
    values = {k: str(v) for k, v in data.items()}
    if prefixes:
        values["server.artifact_allow"] = ",".join(prefixes)
    return values
