"""Task code from git: a cached mirror per repository, and a worktree per task at its commit.

Layout under the agent's cache folder (``$TASKMILL_HOME/agent``)::

    repos/<hash of the URL>/        a mirror clone (``git clone --mirror``), fetched when a commit is missing
    repos/<hash>.lock               taken while the mirror or its worktree list changes
    work/<task id>/                 the task's checkout (``git worktree add --detach``) with its diff applied

A local folder works as the repository URL, as it does for ``git clone``.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from taskmill.agent._fs import file_lock, short_hash
from taskmill.agent.errors import EnvironmentBuildError
from taskmill.agent.tasklog import TaskLog

logger = logging.getLogger(__name__)

#: Longest a clone or fetch may take (seconds); a stuck network must not hold the agent forever.
GIT_TIMEOUT = 600.0


class RepoCache:
    """Checks out task code. Thread-safe and safe across agents sharing ``root`` (file locks)."""

    def __init__(self, root: Path) -> None:
        """``root``: the agent's cache folder; ``repos/`` and ``work/`` are created inside it."""
        self._repos = root / "repos"
        self._work = root / "work"

    def checkout(self, url: str, commit: str, diff: str, key: str, log: TaskLog) -> Path:
        """A fresh working tree of ``url`` at ``commit`` with ``diff`` applied; returns its folder.

        Blocking (clones or fetches when needed). ``key`` names the tree (the task id); an old tree
        of the same name is replaced. Raises EnvironmentBuildError with git's output when the
        repository cannot be cloned, the commit does not exist there, or the diff does not apply.
        """
        mirror = self._repos / short_hash(url)
        dest = self._work / key
        with file_lock(mirror.with_suffix(".lock")):
            self._ensure_commit(url, commit, mirror, log)
            if dest.exists():
                self._remove_tree(mirror, dest)
            dest.parent.mkdir(parents=True, exist_ok=True)
            _git(
                ["--git-dir", str(mirror), "worktree", "add", "--detach", "--force", str(dest), commit],
                f"cannot check out commit {commit} of {url}",
            )
        log.write(f"checked out {url} at {commit[:12]} into {dest}")
        if diff.strip():
            text = diff if diff.endswith("\n") else diff + "\n"
            _git(
                ["-C", str(dest), "apply", "--whitespace=nowarn", "--binary", "-"],
                f"the task's uncommitted changes do not apply to {url} at {commit[:12]}",
                stdin=text,
            )
            n_lines = text.count("\n")
            log.write(f"applied the task's uncommitted changes ({n_lines} diff lines)")
        return dest

    def release(self, url: str, key: str) -> None:
        """Delete the working tree ``key`` of ``url`` (the mirror stays cached). Never raises."""
        mirror = self._repos / short_hash(url)
        dest = self._work / key
        try:
            with file_lock(mirror.with_suffix(".lock")):
                self._remove_tree(mirror, dest)
        except OSError as exc:
            logger.warning("could not remove the checkout %s: %s", dest, exc)

    def _ensure_commit(self, url: str, commit: str, mirror: Path, log: TaskLog) -> None:
        if not (mirror / "HEAD").exists():
            shutil.rmtree(mirror, ignore_errors=True)  # a clone that died half-way
            log.write(f"cloning {url}")
            try:
                _git(["clone", "--mirror", "--quiet", url, str(mirror)], f"cannot clone {url}")
            except EnvironmentBuildError:
                shutil.rmtree(mirror, ignore_errors=True)
                raise
        if _has_commit(mirror, commit):
            return
        log.write(f"fetching {url} (commit {commit[:12]} is not in the cached clone)")
        _git(["--git-dir", str(mirror), "fetch", "--quiet", "--prune", "origin"], f"cannot fetch {url}")
        if not _has_commit(mirror, commit):
            raise EnvironmentBuildError(
                f"commit {commit} is not in {url}; push it (or record the task from a pushed commit)"
            )

    @staticmethod
    def _remove_tree(mirror: Path, dest: Path) -> None:
        """Remove a worktree; the caller holds the mirror's lock."""
        if (mirror / "HEAD").exists():
            subprocess.run(
                ["git", "--git-dir", str(mirror), "worktree", "remove", "--force", "--force", str(dest)],
                capture_output=True,
                check=False,
                env=_git_env(),
            )
        shutil.rmtree(dest, ignore_errors=True)
        if (mirror / "HEAD").exists():
            subprocess.run(
                ["git", "--git-dir", str(mirror), "worktree", "prune"],
                capture_output=True,
                check=False,
                env=_git_env(),
            )


def _has_commit(mirror: Path, commit: str) -> bool:
    proc = subprocess.run(
        ["git", "--git-dir", str(mirror), "cat-file", "-e", f"{commit}^{{commit}}"],
        capture_output=True,
        check=False,
        env=_git_env(),
    )
    return proc.returncode == 0


def _git_env() -> dict[str, str]:
    # Never prompt for credentials: an agent has nobody to answer.
    return {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true"}


def _git(args: Sequence[str], failure: str, *, stdin: str | None = None) -> str:
    """Run git; return its stdout, or raise EnvironmentBuildError(failure) with its output."""
    try:
        proc = subprocess.run(
            ["git", *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT,
            check=False,
            env=_git_env(),
        )
    except FileNotFoundError as exc:
        raise EnvironmentBuildError(f"{failure}: git is not installed on this agent's machine") from exc
    except subprocess.TimeoutExpired as exc:
        raise EnvironmentBuildError(f"{failure}: git did not finish within {GIT_TIMEOUT:.0f} s") from exc
    if proc.returncode != 0:
        output = (proc.stdout + proc.stderr).rstrip().splitlines()
        raise EnvironmentBuildError(f"{failure} (git exited with code {proc.returncode})", output)
    return proc.stdout
