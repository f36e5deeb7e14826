"""ClearML's requirement controls (``Task.add_requirements``, ``Task.ignore_requirements``,
``Task.force_requirements_env_freeze``) applied to the requirements a task records.

A task records this interpreter's installed distributions as ``name==version`` lines (an
environment freeze). The controls adjust that list; an agent then builds a virtualenv for the task
when the list differs from its own environment.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Set
from importlib import metadata
from pathlib import Path

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def canonical(name: str) -> str:
    """A distribution name as pip compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def specifier(package: str, version: str | None) -> str:
    """The requirement line for ``add_requirements(package, version)``: ``package==version``, or
    the installed version when ``version`` is None (just ``package`` when it is not installed).
    A version that already is a specifier (``>=2``, ``~=1.4``) is kept as given."""
    if version:
        return f"{package}{version}" if version[0] in "<>=!~" else f"{package}=={version}"
    try:
        return f"{package}=={metadata.version(package)}"
    except metadata.PackageNotFoundError:
        return package


def adjust(
    recorded: str,
    added: Mapping[str, str],
    ignored: Set[str],
    replacement: str | None = None,
) -> str:
    """``recorded`` requirement lines with ``added`` (name -> line) put in place of any line for
    the same package, ``ignored`` packages dropped; ``replacement`` (a requirements file's text)
    instead of ``recorded`` when given. Comments and blank lines are dropped."""
    base = replacement if replacement is not None else recorded
    lines = {canonical(name): line for name, line in requirement_lines(base).items()}
    for name, line in added.items():
        lines[canonical(name)] = line
    for name in ignored:
        lines.pop(canonical(name), None)
    return "\n".join(lines[k] for k in sorted(lines))


def requirement_lines(text: str) -> dict[str, str]:
    """``package name -> requirement line`` of requirements text; comments, blank lines and
    pip options (``-r``, ``--index-url`` ...) are left out."""
    lines: dict[str, str] = {}
    for line in text.splitlines():
        requirement = line.split("#", 1)[0].strip()
        match = _NAME.match(requirement)
        if match:
            lines[match.group(1)] = requirement
    return lines


def read_requirements_file(path: str | os.PathLike[str]) -> str:
    """The text of a requirements file; a clear error when it is missing."""
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"requirements file {file} does not exist")
    return file.read_text()
