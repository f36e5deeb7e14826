"""What ``Task.init`` records about the running code: entry point, git state, installed packages.

Every function here is best effort: a machine without git, or a script outside a repository,
records what it can and never fails the task.
"""

from __future__ import annotations

import importlib.util
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
    """Describe the running program (``sys.argv[0]`` unless ``entry`` is given).

    A program started as ``python -m pkg.mod`` is recorded as entry point ``-m pkg.mod`` with the
    current folder as its working dir (where ``-m`` found it), relative to the git root.
    """
    argv0 = entry if entry is not None else (sys.argv[0] if sys.argv else "")
    cwd = Path.cwd()
    module = _running_module() if entry is None else None
    if module is not None:
        return _module_info(module, cwd, with_packages)
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
    return _recorded(entry_point, working_dir, git, with_packages)


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


def _running_module() -> str | None:
    # `python -m pkg.mod` leaves the module's import name on __main__.__spec__
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    name = getattr(spec, "name", None)
    if not name or name == "__main__":
        return None
    return str(name).removesuffix(".__main__")


def script_folder(script: ScriptInfo, recorded_root: str = "") -> Path | None:
    """The folder on this machine that ``script.entry_point`` is relative to, or None if absent.

    A recorded entry point is relative to its git root (working dir ``.``) or to an absolute
    working dir. The root is looked for, in order, in: the checkout the task was recorded in
    (``recorded_root``), the clone the current directory is in when it is the same repository,
    and the repository path itself. Each is checked for the file rather than trusted: a local
    repository path is often a bare repository or another clone (``git clone /path``), not the
    working tree that ran. A ``-m module`` entry point is looked for as the module's file; one
    that is not there but is installed here runs from the first of those folders that exists.
    Blocking (may run ``git``), no side effects (installed modules are found, not imported).
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
            here = _git(["rev-parse", "--show-toplevel"], Path.cwd()).strip()
            if here:
                origin = _git(["config", "--get", "remote.origin.url"], Path(here)).strip()
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


def _module_info(module: str, cwd: Path, with_packages: bool) -> ScriptInfo:
    git = git_info(cwd)
    working_dir = str(cwd)
    if git.get("root"):
        try:
            working_dir = str(cwd.relative_to(Path(git["root"]))) or "."
        except ValueError:
            pass
    return _recorded(f"-m {module}", working_dir, git, with_packages)


def _recorded(entry_point: str, working_dir: str, git: dict[str, str], with_packages: bool) -> ScriptInfo:
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


def local_root(entry: str | None = None) -> str:
    """Where the recorded entry point is relative to on this machine: the git root, else its folder."""
    argv0 = entry if entry is not None else (sys.argv[0] if sys.argv else "")
    script = Path(argv0).resolve() if argv0 and argv0 not in ("-c", "-m") else Path.cwd()
    folder = script if script.is_dir() else script.parent
    root = _git(["rev-parse", "--show-toplevel"], folder).strip()
    return root or str(folder)
