"""What ``Task.init`` records about the running code: entry point, git state, installed packages.

Every function here is best effort: a machine without git, or a script outside a repository,
records what it can and never fails the task.

**Notebooks**: in a Jupyter kernel (ipykernel) the running program is the kernel, not a script.
The notebook's code is recorded instead: the whole notebook's code cells when the kernel knows
its file (``JPY_SESSION_NAME``, set by Jupyter servers), else the cells run so far (the kernel's
input history, the ``Task.init`` cell included). IPython syntax is translated to Python and
lines that need a kernel (``get_ipython()...``: magics, shell escapes) are commented out. The
code is written to ``.taskmill-notebooks/<name>-<hash>.py`` under the notebook's working
directory (a temporary folder when that is read-only) and recorded as the entry point with that
working directory, so ``start()``, ``new-run``, ``resume`` and agents on this machine re-run it as
a script. No git state is recorded for a notebook: its code is the file.

Finding a recorded script again on this machine (:func:`script_folder`, :func:`module_of`,
:func:`entry_file`) lives in :mod:`taskmill.runs.scripts` and is re-exported here.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

from taskmill.core.model import ScriptInfo
from taskmill.runs.scripts import entry_file, git_output, module_of, script_folder

__all__ = [
    "entry_file",
    "git_info",
    "in_notebook",
    "installed_packages",
    "kernel_shell",
    "local_root",
    "module_of",
    "notebook_code",
    "script_folder",
    "script_info",
]

_MAX_DIFF_BYTES = 2 * 1024 * 1024  # a diff larger than this is almost surely data, not code


def git_info(path: Path) -> dict[str, str]:
    """Repository URL (or local path), branch, commit and uncommitted diff for ``path``'s repo."""
    folder = path if path.is_dir() else path.parent
    root = git_output(["rev-parse", "--show-toplevel"], folder).strip()
    if not root:
        return {}
    root_path = Path(root)
    remote = git_output(["config", "--get", "remote.origin.url"], root_path).strip()
    branch = git_output(["rev-parse", "--abbrev-ref", "HEAD"], root_path).strip()
    commit = git_output(["rev-parse", "HEAD"], root_path).strip()
    diff = git_output(["diff", "HEAD", "--binary"], root_path) if commit else ""
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
    shell = kernel_shell() if entry is None else None
    if shell is not None:
        return _notebook_info(shell, cwd, with_packages)
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


def _running_module() -> str | None:
    # `python -m pkg.mod` leaves the module's import name on __main__.__spec__
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    name = getattr(spec, "name", None)
    if not name or name == "__main__":
        return None
    return str(name).removesuffix(".__main__")


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
    if entry is None and kernel_shell() is not None:
        return str(Path.cwd())  # the notebook's code is recorded relative to its working dir
    argv0 = entry if entry is not None else (sys.argv[0] if sys.argv else "")
    script = Path(argv0).resolve() if argv0 and argv0 not in ("-c", "-m") else Path.cwd()
    folder = script if script.is_dir() else script.parent
    root = git_output(["rev-parse", "--show-toplevel"], folder).strip()
    return root or str(folder)


# -- notebooks -----------------------------------------------------------------------------------

#: Where a notebook's recorded code goes, under its working directory.
NOTEBOOK_FOLDER = ".taskmill-notebooks"


def kernel_shell() -> Any:
    """The IPython shell of the Jupyter kernel this process is, or None (a terminal IPython is not
    a notebook: its program is a script or an interactive session)."""
    ipython = sys.modules.get("IPython")
    get = getattr(ipython, "get_ipython", None)
    shell = get() if callable(get) else None
    if shell is None or getattr(shell, "kernel", None) is None:
        return None
    return shell


def in_notebook() -> bool:
    """True when this process is a Jupyter kernel (``Task.init`` in a notebook)."""
    return kernel_shell() is not None


def notebook_code(shell: Any) -> tuple[str, str]:
    """``(name, Python code)`` of the notebook ``shell`` runs (see the module docstring)."""
    cells: list[str] = []
    name = "notebook"
    path = os.environ.get("JPY_SESSION_NAME") or str(shell.user_ns.get("__session__") or "")
    if path.endswith(".ipynb") and Path(path).is_file():
        try:
            notebook = json.loads(Path(path).read_text(encoding="utf-8"))
            for cell in notebook.get("cells", []):
                if cell.get("cell_type") == "code":
                    source = cell.get("source", "")
                    cells.append("".join(source) if isinstance(source, list) else str(source))
            name = Path(path).stem
        except (OSError, ValueError):
            cells = []
    if not cells:
        cells = [str(cell) for cell in list(shell.user_ns.get("In", []))[1:]]
    translate = getattr(getattr(shell, "input_transformer_manager", None), "transform_cell", None)
    parts: list[str] = []
    for cell in cells:
        code = translate(cell) if callable(translate) else cell
        lines = [
            f"# {line}  # needs a Jupyter kernel" if line.lstrip().startswith("get_ipython()") else line
            for line in code.rstrip().splitlines()
        ]
        if lines:
            parts.append("\n".join(lines))
    return name, "".join(f"\n# %% cell {n}\n{part}\n" for n, part in enumerate(parts, 1)).lstrip()


def _notebook_info(shell: Any, cwd: Path, with_packages: bool) -> ScriptInfo:
    name, code = notebook_code(shell)
    text = f"# The code of the notebook {name}, recorded by taskmill's Task.init.\n{code}"
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    relative = Path(NOTEBOOK_FOLDER) / f"{name}-{digest}.py"
    folder = cwd
    try:
        (cwd / relative).parent.mkdir(parents=True, exist_ok=True)
        (cwd / relative).write_text(text, encoding="utf-8")
    except OSError:  # a read-only working dir: the code still has to live somewhere
        folder = Path(tempfile.gettempdir()) / "taskmill"
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_text(text, encoding="utf-8")
    return _recorded(str(relative), str(folder), {}, with_packages)
