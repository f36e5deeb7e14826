"""Virtualenvs for tasks whose packages differ from the agent's: built once, then reused.

A venv is keyed by the task's requirements (normalised), the Python version and how taskmill is
installed, and lives in ``<cache>/venvs/<key>/``. It is a clean venv (no system site packages)
with the requirements plus taskmill itself: from the same source folder when the agent's taskmill
is an editable or local install, else the same version from the package index. A marker file
written last says the venv is complete; a failed build is deleted, so the next task tries again.

Venvs are built with `uv <https://docs.astral.sh/uv/>`_ (``uv venv`` + ``uv pip install``; the
``taskmill[agent]`` extra brings it) when it is there, else with the agent's pip. uv does not read
pip's configuration, so the agent hands pip's index, find-links, constraints and certificate
settings (``pip config list``) to uv, unless uv is configured through its own ``UV_*`` variables.
When uv is missing or its build fails, the task's log says so and pip builds the venv instead.
Either way the venv and its cache key are the same.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlparse

from taskmill.agent._fs import file_lock, short_hash
from taskmill.agent.errors import EnvironmentBuildError
from taskmill.agent.tasklog import TaskLog

#: Present in a venv once it is fully built.
READY_MARKER = ".taskmill-ready"
#: Longest a venv build may take (seconds).
BUILD_TIMEOUT = 1800.0
#: ``VenvCache(uv=FIND_UV)``: use the uv found by :func:`find_uv`, if any.
FIND_UV = "find"
#: ``UV_*`` variables meaning uv is configured explicitly: pip's settings are then not handed over.
UV_INDEX_VARIABLES = ("UV_INDEX", "UV_DEFAULT_INDEX", "UV_INDEX_URL", "UV_EXTRA_INDEX_URL", "UV_FIND_LINKS")


def find_uv() -> str | None:
    """The uv executable: the one installed beside this interpreter (``taskmill[agent]``), else
    the first on ``PATH``; None when there is none."""
    beside = Path(sys.executable).parent / "uv"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("uv")


def pip_settings(python: str = sys.executable) -> dict[str, list[str]]:
    """pip's effective settings (``pip config list``: files and ``PIP_*`` variables), option name ->
    values; {} when pip is missing or fails. Blocking (runs pip: about half a second)."""
    if importlib.util.find_spec("pip") is None and python == sys.executable:
        return {}
    try:
        proc = subprocess.run(
            [python, "-m", "pip", "config", "list"],
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return {}
    if proc.returncode != 0:
        return {}
    ranked: dict[str, tuple[int, list[str]]] = {}
    for line in proc.stdout.splitlines():
        key, sep, value = line.partition("=")
        section, dot, option = key.rpartition(".")
        if not (sep and dot):
            continue
        # Precedence as pip applies it: environment variables, then the install command's section.
        rank = {":env:": 3, "install": 2, "global": 1}.get(section, 0)
        if rank and rank >= ranked.get(option, (0, []))[0]:
            ranked[option] = (rank, value.strip().strip("'\"").split())
    return {option: values for option, (_, values) in ranked.items()}


def uv_options(settings: dict[str, list[str]]) -> tuple[list[str], dict[str, str]]:
    """``uv pip install`` options and environment variables with the same effect as pip's
    ``settings`` (see :func:`pip_settings`): indexes, find-links, constraints, certificate."""
    args: list[str] = []
    env: dict[str, str] = {}
    if any(os.environ.get(name) for name in UV_INDEX_VARIABLES):
        return args, env
    for url in settings.get("index-url", [])[:1]:
        args += ["--index-url", url]
    for url in settings.get("extra-index-url", []):
        args += ["--extra-index-url", url]
    for place in settings.get("find-links", []):
        args += ["--find-links", place]
    for file in settings.get("constraint", []):
        args += ["--constraint", file]
    if settings.get("no-index", ["0"])[0].lower() in {"1", "true", "yes", "on"}:
        args.append("--no-index")
    if settings.get("extra-index-url") or settings.get("find-links"):
        args += ["--index-strategy", "unsafe-best-match"]  # pip picks the best version across indexes
    for cert in settings.get("cert", [])[:1]:
        env["SSL_CERT_FILE"] = cert
    return args, env


def taskmill_requirement() -> list[str]:
    """The pip arguments that install the taskmill this process runs (PEP 610 ``direct_url.json``).

    ``["-e", folder]`` for an editable install, ``[folder or wheel]`` for one from a local path,
    else ``["taskmill==<version>"]``; the source folder when taskmill runs from a source tree
    that is not installed (``PYTHONPATH=src``).
    """
    try:
        dist = metadata.distribution("taskmill")
    except metadata.PackageNotFoundError:
        import taskmill

        root = Path(taskmill.__file__).resolve().parents[2]
        return [str(root)] if (root / "pyproject.toml").exists() else [f"taskmill=={taskmill.__version__}"]
    raw = dist.read_text("direct_url.json")
    if raw:
        info = json.loads(raw)
        url = str(info.get("url", ""))
        if url.startswith("file://"):
            path = unquote(urlparse(url).path)
            if info.get("dir_info", {}).get("editable"):
                return ["-e", path]
            return [path]
    return [f"taskmill=={dist.version}"]


class VenvCache:
    """Builds and reuses task venvs. Thread-safe and safe across agents sharing ``root``."""

    def __init__(
        self,
        root: Path,
        taskmill_spec: Sequence[str],
        *,
        python: str = sys.executable,
        uv: str | None = FIND_UV,
    ) -> None:
        """``root``: the agent's cache folder (venvs go to ``root/venvs``); ``taskmill_spec``: pip
        arguments installing taskmill (see :func:`taskmill_requirement`); ``python``: the base
        interpreter of new venvs; ``uv``: the uv executable building venvs (:data:`FIND_UV`: the
        one :func:`find_uv` finds; None: always pip)."""
        self._root = root / "venvs"
        self._spec = tuple(taskmill_spec)
        self._python = python
        self._uv = find_uv() if uv == FIND_UV else uv
        self._uv_config: tuple[list[str], dict[str, str]] | None = None
        self._lock = threading.Lock()

    @property
    def uv(self) -> str | None:
        """The uv executable this cache builds with; None: pip."""
        return self._uv

    def key(self, requirements: Sequence[str]) -> str:
        """The cache key of a venv for ``requirements`` (order and duplicates do not matter)."""
        version = f"{sys.version_info.major}.{sys.version_info.minor}"
        return short_hash(version, self._python, *self._spec, "--", *sorted(set(requirements)))

    def path(self, requirements: Sequence[str]) -> Path:
        """Where the venv for ``requirements`` lives (whether or not it exists)."""
        return self._root / self.key(requirements)

    def ensure(self, requirements: Sequence[str], log: TaskLog) -> Path:
        """The interpreter of a ready venv with ``requirements`` installed; builds it if needed.

        Blocking (a build runs pip: seconds to minutes). Raises EnvironmentBuildError with pip's
        output when the requirements cannot be installed.
        """
        venv = self.path(requirements)
        python = venv / "bin" / "python"
        if (venv / READY_MARKER).exists():
            log.write(f"reusing the virtualenv {venv}")
            return python
        with file_lock(venv.with_suffix(".lock")):
            if (venv / READY_MARKER).exists():  # another agent built it while we waited
                log.write(f"reusing the virtualenv {venv}")
                return python
            shutil.rmtree(venv, ignore_errors=True)  # a build that died half-way
            started = time.monotonic()
            log.write(f"creating a virtualenv in {venv} for: {', '.join(requirements) or '(no packages)'}")
            try:
                self._build_with_uv_or_pip(venv, python, requirements, log)
            except BaseException:
                shutil.rmtree(venv, ignore_errors=True)
                raise
            (venv / READY_MARKER).write_text(json.dumps({"requirements": list(requirements)}) + "\n")
            log.write(f"virtualenv ready in {time.monotonic() - started:.1f} s")
        return python

    def _build_with_uv_or_pip(
        self, venv: Path, python: Path, requirements: Sequence[str], log: TaskLog
    ) -> None:
        if self._uv is None:
            log.write("uv is not installed (pip install 'taskmill[agent]'): building the virtualenv with pip")
        else:
            try:
                self._build_with_uv(self._uv, venv, python, requirements, log)
                return
            except EnvironmentBuildError as exc:
                log.write(f"{exc}: building the virtualenv with pip instead")
                shutil.rmtree(venv, ignore_errors=True)
        self._build(venv, python, requirements, log)

    def _uv_settings(self) -> tuple[list[str], dict[str, str]]:
        with self._lock:  # pip config list runs once per cache, not once per venv
            if self._uv_config is None:
                self._uv_config = uv_options(pip_settings())
            return self._uv_config

    def _build_with_uv(
        self, uv: str, venv: Path, python: Path, requirements: Sequence[str], log: TaskLog
    ) -> None:
        args, variables = self._uv_settings()
        env = {**os.environ, **variables, "VIRTUAL_ENV": str(venv)}
        env.pop("UV_SYSTEM_PYTHON", None)  # never let uv install into the agent's own Python
        _run(
            [uv, "venv", "--quiet", "--python", self._python, str(venv)],
            "uv cannot create a virtualenv",
            log,
            env,
        )
        (venv / "requirements.txt").write_text("\n".join(requirements) + "\n")
        install = [
            uv,
            "pip",
            "install",
            "--python",
            str(python),
            *args,
            "-r",
            str(venv / "requirements.txt"),
            *self._spec,
        ]
        _run(install, "uv cannot install the task's packages", log, env)

    def _build(self, venv: Path, python: Path, requirements: Sequence[str], log: TaskLog) -> None:
        # Without pip in the venv, and the agent's pip installing into it (pip --python): saves
        # seconds per venv. An agent without pip bootstraps pip into the venv instead.
        agent_pip = _pip_has_python_option()
        create = [self._python, "-m", "venv", *(["--without-pip"] if agent_pip else []), str(venv)]
        _run(create, "cannot create a virtualenv", log)
        (venv / "requirements.txt").write_text("\n".join(requirements) + "\n")
        pip = (
            [sys.executable, "-m", "pip", "--python", str(python)]
            if agent_pip
            else [str(python), "-m", "pip"]
        )
        install = [
            *pip,
            "install",
            "--disable-pip-version-check",
            "--no-input",
            "-r",
            str(venv / "requirements.txt"),
            *self._spec,
        ]
        _run(install, "cannot install the task's packages", log)


def _pip_has_python_option() -> bool:
    """True when this interpreter's pip can install into another one (``pip --python``, pip >= 22.3)."""
    if importlib.util.find_spec("pip") is None:
        return False
    try:
        major, minor = (int(p) for p in metadata.version("pip").split(".")[:2])
    except (metadata.PackageNotFoundError, ValueError):
        return False
    return (major, minor) >= (22, 3)


def _run(cmd: Sequence[str], failure: str, log: TaskLog, env: dict[str, str] | None = None) -> None:
    """Run a build command, streaming its output into the task's log; raise EnvironmentBuildError
    (its output is in the log already) when it fails or runs past :data:`BUILD_TIMEOUT`."""
    try:
        proc = subprocess.Popen(
            list(cmd),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            env=env,
        )
    except OSError as exc:
        raise EnvironmentBuildError(f"{failure}: {exc}") from exc
    assert proc.stdout is not None
    timer = threading.Timer(BUILD_TIMEOUT, proc.kill)
    timer.start()
    try:
        for line in proc.stdout:
            log.write(line.rstrip("\n"), raw=True)
        code = proc.wait()
    finally:
        timer.cancel()
        proc.stdout.close()
    log.flush()
    if code != 0:
        tool = cmd[2] if cmd[1:2] == ["-m"] else Path(cmd[0]).name
        why = f"killed after {BUILD_TIMEOUT:.0f} s" if code < 0 else f"exited with code {code}"
        raise EnvironmentBuildError(f"{failure}: {tool} {why} (its output is in the task's log)")
