"""What ``Task.init`` records about the running code: entry point, git state, installed packages.

Every function here is best effort: a machine without git, or a script outside a repository,
records what it can and never fails the task.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

from taskmill.core.model import ScriptInfo

_GIT_TIMEOUT = 10.0
_MAX_DIFF_BYTES = 2 * 1024 * 1024  # a diff larger than this is almost surely data, not code


def _git(args: list[str], cwd: Path) -> str:
    try:
        out = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT,
            check=False,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout if out.returncode == 0 else ""


def git_info(path: Path) -> dict[str, str]:
    """Repository URL (or local path), branch, commit and uncommitted diff for ``path``'s repo."""
    folder = path if path.is_dir() else path.parent
    root = _git(["rev-parse", "--show-toplevel"], folder).strip()
    if not root:
        return {}
    root_path = Path(root)
    remote = _git(["config", "--get", "remote.origin.url"], root_path).strip()
    branch = _git(["rev-parse", "--abbrev-ref", "HEAD"], root_path).strip()
    commit = _git(["rev-parse", "HEAD"], root_path).strip()
    diff = _git(["diff", "HEAD", "--binary"], root_path) if commit else ""
    if len(diff) > _MAX_DIFF_BYTES:
        diff = diff[:_MAX_DIFF_BYTES] + "\n# diff truncated by taskmill (over 2 MiB)\n"
    return {
        "root": root,
        "repository": remote or root,
        "branch": "" if branch == "HEAD" else branch,
        "commit": commit,
        "diff": diff,
    }


def installed_packages() -> str:
    """``name==version`` lines for the distributions of this interpreter, sorted by name.

    Read from the ``<name>-<version>.dist-info`` folder names on ``sys.path`` (standardised by
    PEP 376/427): parsing every package's METADATA instead costs ~0.7 s of CPU for a few hundred
    packages, which a starting pipeline would feel.
    """
    seen: dict[str, str] = {}
    for entry in sys.path:
        folder = Path(entry or ".")
        if not folder.is_dir():
            continue
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            if not name.endswith(".dist-info"):
                continue
            stem = name[: -len(".dist-info")]
            dist, _, version = stem.partition("-")
            key = dist.lower().replace("_", "-")
            if dist and version and key not in seen:
                seen[key] = f"{dist.replace('_', '-')}=={version}"
    if not seen:  # unusual layouts: ask importlib (slow but thorough)
        for d in metadata.distributions():
            dname = d.metadata["Name"]
            if dname and dname.lower() not in seen:
                seen[dname.lower()] = f"{dname}=={d.version}"
    return "\n".join(seen[k] for k in sorted(seen))


def script_info(entry: str | None = None, *, with_packages: bool = True) -> ScriptInfo:
    """Describe the running program (``sys.argv[0]`` unless ``entry`` is given)."""
    argv0 = entry if entry is not None else (sys.argv[0] if sys.argv else "")
    cwd = Path.cwd()
    script = Path(argv0).resolve() if argv0 and argv0 not in ("-c", "-m", "") else None
    if script is not None and not script.exists():
        script = None
    git = git_info(script or cwd)
    entry_point = argv0
    working_dir = str(cwd)
    if script is not None:
        entry_point = script.name
        working_dir = str(script.parent)
        if git.get("root"):
            root = Path(git["root"])
            try:
                entry_point = str(script.relative_to(root))
                working_dir = "."
            except ValueError:
                pass
    return ScriptInfo(
        entry_point=entry_point,
        working_dir=working_dir,
        repository=git.get("repository", ""),
        branch=git.get("branch", ""),
        commit=git.get("commit", ""),
        diff=git.get("diff", ""),
        requirements=installed_packages() if with_packages else "",
        binary=f"python{sys.version_info.major}.{sys.version_info.minor}",
    )


def script_folder(script: ScriptInfo, recorded_root: str = "") -> Path | None:
    """The folder on this machine that ``script.entry_point`` is relative to, or None if absent.

    A recorded entry point is relative to its git root (working dir ``.``) or to an absolute
    working dir. The root is looked for, in order, in: the checkout the task was recorded in
    (``recorded_root``), the clone the current directory is in when it is the same repository,
    and the repository path itself. Each is checked for the file rather than trusted: a local
    repository path is often a bare repository or another clone (``git clone /path``), not the
    working tree that ran. Blocking (may run ``git``), no side effects.
    """
    wd = script.working_dir
    if wd not in ("", ".") and Path(wd).is_absolute():
        return Path(wd) if (Path(wd) / script.entry_point).is_file() else None
    rel = "" if wd in ("", ".") else wd

    def roots() -> Iterator[Path]:
        if recorded_root:
            yield Path(recorded_root)
        if script.repository:
            here = _git(["rev-parse", "--show-toplevel"], Path.cwd()).strip()
            if here:
                origin = _git(["config", "--get", "remote.origin.url"], Path(here)).strip()
                if script.repository in (origin, here):
                    yield Path(here)
            yield Path(script.repository)

    for root in roots():
        folder = root / rel
        if (folder / script.entry_point).is_file():
            return folder
    return None


def local_root(entry: str | None = None) -> str:
    """Where the recorded entry point is relative to on this machine: the git root, else its folder."""
    argv0 = entry if entry is not None else (sys.argv[0] if sys.argv else "")
    script = Path(argv0).resolve() if argv0 and argv0 not in ("-c", "-m") else Path.cwd()
    folder = script if script.is_dir() else script.parent
    root = _git(["rev-parse", "--show-toplevel"], folder).strip()
    return root or str(folder)
