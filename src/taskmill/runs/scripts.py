"""Where a recorded script is on this machine, and the command that runs it again.

A task records its entry point relative to its git root (working dir ``.``) or to an absolute
working dir (:mod:`taskmill.api.capture` writes it). Resuming a run, running a step's script on
an agent and starting a new run all need the folder that path is relative to here; this module
finds it. Everything blocks (it may run ``git``) and nothing changes: files are looked for, never
written, and installed modules are found, not imported.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from taskmill.core.model import ScriptInfo, TaskRecord
from taskmill.errors import ExecutionError

#: Seconds one git command may take; a hung git (a network mount) must not hang the caller.
GIT_TIMEOUT = 10.0


def git_output(args: list[str], cwd: Path) -> str:
    """Stdout of ``git ARGS`` in ``cwd``; ``""`` when git is missing, fails or times out."""
    try:
        out = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT,
            check=False,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},  # a read must not take the index lock
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout if out.returncode == 0 else ""


def module_of(entry_point: str) -> str | None:
    """The module of a ``-m module`` entry point (``python -m module``), else None."""
    entry = entry_point.strip()
    return entry[3:].strip() or None if entry.startswith("-m ") else None


def entry_file(folder: Path, entry_point: str) -> Path:
    """The file an entry point runs, relative to ``folder``: the script itself, or for
    ``-m pkg.mod`` the module's file (``pkg/mod.py``, or ``pkg/mod/__main__.py`` for a package)."""
    module = module_of(entry_point)
    if module is None:
        return folder / entry_point
    base = folder.joinpath(*module.split("."))
    package_main = base / "__main__.py"
    return package_main if package_main.is_file() else base.with_name(base.name + ".py")


def script_folder(script: ScriptInfo, recorded_root: str = "") -> Path | None:
    """The folder on this machine that ``script.entry_point`` is relative to, or None if absent.

    A recorded entry point is relative to its git root (working dir ``.``) or to an absolute
    working dir. The root is looked for, in order, in: the checkout the task was recorded in
    (``recorded_root``), the clone the current directory is in when it is the same repository,
    and the repository path itself. Each is checked for the file rather than trusted: a local
    repository path is often a bare repository or another clone (``git clone /path``), not the
    working tree that ran. A ``-m module`` entry point is looked for as the module's file; one
    that is not there but is installed here runs from the first of those folders that exists.
    """
    wd = script.working_dir
    absolute = wd not in ("", ".") and Path(wd).is_absolute()
    rel = "" if wd in ("", ".") else wd

    def folders() -> Iterator[Path]:
        if absolute:
            yield Path(wd)
            return
        if recorded_root:
            yield Path(recorded_root) / rel
        if script.repository:
            here = git_output(["rev-parse", "--show-toplevel"], Path.cwd()).strip()
            if here:
                origin = git_output(["config", "--get", "remote.origin.url"], Path(here)).strip()
                if script.repository in (origin, here):
                    yield Path(here) / rel
            yield Path(script.repository) / rel

    tried: list[Path] = []
    for folder in folders():
        if entry_file(folder, script.entry_point).is_file():
            return folder
        tried.append(folder)
    module = module_of(script.entry_point)
    if module is not None and importlib.util.find_spec(module.split(".")[0]) is not None:
        # an installed module (python -m tool): it runs from the folder it was started in
        return next((f for f in tried if f.is_dir()), None)
    return None


def rerun_command(run: TaskRecord) -> tuple[tuple[str, ...], str]:
    """``(python, entry point)`` and the folder to run it in, from the run's recorded script.

    Raises ExecutionError saying why the script cannot be found here (no recorded script, a
    repository this machine has no clone of, a working dir that is gone).
    """
    script = run.script
    if not script.entry_point:
        raise ExecutionError(f"run {run.name} ({run.id}) has no recorded script to re-run")
    folder = script_folder(script, str(run.runtime.get("script_root") or ""))
    if folder is None:
        wd = script.working_dir
        if script.repository and not Path(script.repository).is_dir():
            raise ExecutionError(
                f"run {run.name}'s script {script.entry_point} is in repository {script.repository}; "
                "run this command from inside a clone of it"
            )
        if not script.repository and not (wd and Path(wd).is_absolute()):
            raise ExecutionError(
                f"run {run.name}'s script {script.entry_point} has no absolute working dir "
                f"(recorded: '{wd}'), so it cannot be found"
            )
        where = Path(wd) if wd and Path(wd).is_absolute() else Path(script.repository)
        raise ExecutionError(
            f"run {run.name}'s script {where / script.entry_point} does not exist (any more); resume "
            "re-runs the recorded script from its working directory"
        )
    module = module_of(script.entry_point)
    if module is not None:
        return (sys.executable, "-m", module), str(folder)
    return (sys.executable, script.entry_point), str(folder)
