"""ClearML's requirement controls (``Task.add_requirements``, ``Task.ignore_requirements``,
``Task.force_requirements_env_freeze``) applied to the requirements a task records.

A task records this interpreter's installed distributions as ``name==version`` lines (an
environment freeze). The controls adjust that list; an agent then builds a virtualenv for the task
when the list differs from its own environment. Lines are parsed by
:mod:`taskmill.core.requirements`: requirements are keyed by their canonical name; pip option
lines (``--index-url URL``, ``-e PATH`` ...) are kept as they are, ahead of the requirements.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Set
from importlib import metadata
from pathlib import Path

from taskmill.core.requirements import canonical_name, parse_requirements


def canonical(name: str) -> str:
    """A distribution name as pip compares them (PEP 503)."""
    return canonical_name(name)


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
    instead of ``recorded`` when given. Requirements come out sorted by name, after the base's
    other lines (pip options, paths) in their order; comments and blank lines are dropped."""
    base = replacement if replacement is not None else recorded
    others = [line.text for line in parse_requirements(base) if not line.name]
    lines = {canonical(name): line for name, line in requirement_lines(base).items()}
    for name, line in added.items():
        lines[canonical(name)] = line
    for name in ignored:
        lines.pop(canonical(name), None)
    return "\n".join([*others, *(lines[k] for k in sorted(lines))])


def requirement_lines(text: str) -> dict[str, str]:
    """``package name (as written) -> requirement line`` of requirements text (a later line for a
    package wins); comments, blank lines, pip options (``-r``, ``--index-url`` ...) and lines that
    are no requirement (a bare path) are left out."""
    return {
        line.requirement.name: line.text for line in parse_requirements(text) if line.requirement is not None
    }


def read_requirements_file(path: str | os.PathLike[str]) -> str:
    """The text of a requirements file; a clear error when it is missing."""
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"requirements file {file} does not exist")
    return file.read_text()
