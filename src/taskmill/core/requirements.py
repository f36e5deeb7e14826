"""Requirement lines (pip's requirements-file format) parsed and judged with ``packaging``.

Pure: no I/O. A caller passes the installed distributions (``{canonical name: version}``) and,
to check extras, a function returning a distribution's declared dependencies.

Parsing (:func:`parse_requirements`) keeps what pip would read: blank lines and comments (a ``#``
at the start of a line or after whitespace; a URL's ``#fragment`` stays) are dropped, lines ending
in ``\\`` are joined. Each remaining line is one of

* a requirement (PEP 508: name, extras, specifiers, ``name @ url``, marker), optionally followed
  by per-requirement options such as ``--hash=...``;
* a pip option line (``--index-url URL``, ``-e PATH``, ``-r FILE`` ...);
* anything else (a bare path or URL): kept, with neither a requirement nor an option.

Judging (:func:`is_met`): a requirement whose marker is false in the environment is met (it does
not apply); otherwise its distribution must be installed, with a version its specifiers accept
(pre-releases included: what is installed is what is there), and, for extras, the extras'
dependencies must be met too. A direct URL only needs the name installed: the source of an
installed distribution cannot be compared. Index and resolver options (:data:`PASS_THROUGH_OPTIONS`)
are met: they only matter to an installer. Other options (``-e``, ``-r``, ``-c``) and bare paths
or URLs cannot be checked, so they are never met.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

#: pip options that tell an installer where and how to look, not what to install.
PASS_THROUGH_OPTIONS = frozenset(
    {
        "-i",
        "--index-url",
        "--extra-index-url",
        "--no-index",
        "-f",
        "--find-links",
        "--pre",
        "--trusted-host",
        "--prefer-binary",
        "--only-binary",
        "--no-binary",
    }
)

#: A distribution's declared dependencies (``Requires-Dist`` lines), by name.
Requires = Callable[[str], Iterable[str]]

# pip: a comment starts at a '#' at the beginning of a line or after whitespace.
_COMMENT = re.compile(r"(^|\s+)#.*$")
# Per-requirement options after a requirement (``--hash=...``, ``--config-settings ...``).
_TRAILING_OPTIONS = re.compile(r"\s+--?[A-Za-z].*$")
_OPTION = re.compile(r"^(--?[A-Za-z][A-Za-z0-9-]*)")


def canonical_name(name: str) -> str:
    """PEP 503 normalised distribution name (``Foo_Bar.baz`` -> ``foo-bar-baz``)."""
    return str(canonicalize_name(name))


@dataclass(frozen=True, slots=True)
class RequirementLine:
    """One meaningful line of a requirements text."""

    text: str  #: the line as an installer reads it: comment removed, continuation lines joined
    requirement: Requirement | None = None  #: the parsed requirement; None for options and paths
    option: str = ""  #: the pip option of an option line (``--index-url``, ``-e``); else ""

    @property
    def name(self) -> str:
        """The requirement's canonical distribution name; "" for other lines."""
        return canonical_name(self.requirement.name) if self.requirement is not None else ""


def parse_line(line: str) -> RequirementLine | None:
    """One logical line parsed; None for a blank or comment-only line. Never raises."""
    text = " ".join(_COMMENT.sub("", line).split())
    if not text:
        return None
    option = _OPTION.match(text)
    if option:
        return RequirementLine(text, None, option.group(1))
    try:
        requirement = Requirement(_TRAILING_OPTIONS.sub("", text))
    except InvalidRequirement:
        return RequirementLine(text)
    return RequirementLine(text, requirement)


def parse_requirements(text: str) -> list[RequirementLine]:
    """The meaningful lines of a requirements text, in order. Never raises."""
    parsed: list[RequirementLine] = []
    pending = ""
    for raw in text.splitlines():
        stripped = raw.rstrip()
        if stripped.endswith("\\") and not _COMMENT.search(stripped):
            pending += stripped[:-1] + " "
            continue
        line = parse_line(pending + raw)
        pending = ""
        if line is not None:
            parsed.append(line)
    if pending:
        line = parse_line(pending)
        if line is not None:
            parsed.append(line)
    return parsed


def is_met(
    line: RequirementLine,
    installed: Mapping[str, str],
    *,
    environment: Mapping[str, str] | None = None,
    requires: Requires | None = None,
) -> bool:
    """Whether ``installed`` meets ``line`` (see the module docstring for the rules).

    ``environment``: marker variables overriding this interpreter's (``python_version`` ...);
    ``requires``: a distribution's dependencies, to check extras (without it, extras are not
    checked).
    """
    if line.requirement is None:
        return line.option in PASS_THROUGH_OPTIONS
    return _requirement_met(line.requirement, installed, environment, requires, set())


def unmet_requirements(
    lines: Sequence[RequirementLine],
    installed: Mapping[str, str],
    *,
    environment: Mapping[str, str] | None = None,
    requires: Requires | None = None,
) -> list[RequirementLine]:
    """The lines of ``lines`` that :func:`is_met` says ``installed`` does not meet, in order."""
    return [line for line in lines if not is_met(line, installed, environment=environment, requires=requires)]


def _marker_applies(marker: Marker | None, environment: Mapping[str, str] | None, extra: str = "") -> bool:
    if marker is None:
        return True
    return marker.evaluate({**(environment or {}), "extra": extra})


def _requirement_met(
    requirement: Requirement,
    installed: Mapping[str, str],
    environment: Mapping[str, str] | None,
    requires: Requires | None,
    seen: set[tuple[str, str]],
) -> bool:
    if not _marker_applies(requirement.marker, environment):
        return True
    name = canonical_name(requirement.name)
    have = installed.get(name)
    if have is None:
        return False
    if requirement.specifier:
        try:
            version = Version(have)
        except InvalidVersion:
            return False
        if not requirement.specifier.contains(version, prereleases=True):
            return False
    if requires is None:
        return True
    for extra in sorted(requirement.extras):
        if (name, extra) in seen:
            continue  # extras that require each other
        seen.add((name, extra))
        for dependency in _extra_dependencies(requires(name), extra, environment):
            if not _requirement_met(dependency, installed, environment, requires, seen):
                return False
    return True


def _extra_dependencies(
    declared: Iterable[str], extra: str, environment: Mapping[str, str] | None
) -> list[Requirement]:
    """The dependencies ``extra`` adds: declared ones whose marker holds with that extra only."""
    found: list[Requirement] = []
    for text in declared:
        try:
            dependency = Requirement(text)
        except InvalidRequirement:
            continue  # broken metadata of an installed distribution: not ours to judge
        marker = dependency.marker
        if marker is None or _marker_applies(marker, environment):
            continue  # a base dependency, not the extra's
        if _marker_applies(marker, environment, extra):
            dependency.marker = None  # it held: check the dependency itself
            found.append(dependency)
    return found
