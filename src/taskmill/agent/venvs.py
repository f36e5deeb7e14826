"""Virtualenvs for tasks whose packages differ from the agent's: built once, then reused.

A venv is keyed by the task's requirements (normalised), the Python version and how taskmill is
installed, and lives in ``<cache>/venvs/<key>/``. It is a clean venv (no system site packages)
with the requirements plus taskmill itself: from the same source folder when the agent's taskmill
is an editable or local install, else the same version from the package index. A marker file
written last says the venv is complete; a failed build is deleted, so the next task tries again.
"""

from __future__ import annotations

import importlib.util
import json
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

    def __init__(self, root: Path, taskmill_spec: Sequence[str], *, python: str = sys.executable) -> None:
        """``root``: the agent's cache folder (venvs go to ``root/venvs``); ``taskmill_spec``: pip
        arguments installing taskmill (see :func:`taskmill_requirement`); ``python``: the base
        interpreter of new venvs."""
        self._root = root / "venvs"
        self._spec = tuple(taskmill_spec)
        self._python = python

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
                self._build(venv, python, requirements, log)
            except BaseException:
                shutil.rmtree(venv, ignore_errors=True)
                raise
            (venv / READY_MARKER).write_text(json.dumps({"requirements": list(requirements)}) + "\n")
            log.write(f"virtualenv ready in {time.monotonic() - started:.1f} s")
        return python

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


def _run(cmd: Sequence[str], failure: str, log: TaskLog) -> None:
    """Run a build command, streaming its output into the task's log; raise EnvironmentBuildError
    (its output is in the log already) when it fails or runs past :data:`BUILD_TIMEOUT`."""
    try:
        proc = subprocess.Popen(
            list(cmd), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True
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
