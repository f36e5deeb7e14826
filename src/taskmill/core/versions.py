"""Pipeline version strings: validate, compare, bump.

A pipeline version is one or more non-negative integers joined by dots (``"1.0.1"``, ``"1.2"``,
``"23"``). Versions compare numerically part by part (``1.10 > 1.9``); missing trailing parts
count as zero (``1.2 == 1.2.0``). Picking which stored run to bump is the caller's job; this module
only does the arithmetic.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TypeGuard

#: The version of a pipeline's first run when none is given and none exists yet.
DEFAULT_VERSION = "1.0.0"

# ASCII digits only: str.isdigit() would also accept superscripts and other scripts' digits.
_VERSION = re.compile(r"[0-9]+(?:\.[0-9]+)*")


def is_valid_version(version: object) -> TypeGuard[str]:
    """True if ``version`` is a string of dot-separated non-negative integers, like ``"1.0.1"``."""
    return isinstance(version, str) and _VERSION.fullmatch(version) is not None


def check_version(version: object) -> str:
    """Return ``version`` if it is valid.

    Raises:
        ValueError: It is not a dot-separated numeric version; the message shows valid ones.
    """
    if not is_valid_version(version):
        raise ValueError(
            f"pipeline version {version!r} is not a numeric dotted version; use e.g. '1.0.0', '1.2' or '23'"
        )
    return version


def version_key(version: str) -> tuple[int, ...]:
    """Sort key comparing versions numerically; trailing zero parts are ignored (``1.2 == 1.2.0``).

    Raises:
        ValueError: ``version`` is not valid.
    """
    parts = [int(part) for part in check_version(version).split(".")]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def next_version(version: str) -> str:
    """The version after ``version``: its last part plus one.

    ``1.0.0 -> 1.0.1``, ``1.2 -> 1.3``, ``10 -> 11``, ``1.0.9 -> 1.0.10``.

    Raises:
        ValueError: ``version`` is not valid.
    """
    head, _, last = check_version(version).rpartition(".")
    bumped = str(int(last) + 1)
    return f"{head}.{bumped}" if head else bumped


def max_version(versions: Iterable[str]) -> str:
    """The highest of ``versions`` by numeric comparison.

    Of versions that compare equal (``1.2`` and ``1.2.0``), the first one given is returned.

    Raises:
        ValueError: ``versions`` is empty, or one of them is not valid.
    """
    best: str | None = None
    best_key: tuple[int, ...] = ()
    for version in versions:
        key = version_key(version)
        if best is None or key > best_key:
            best, best_key = version, key
    if best is None:
        raise ValueError("no versions to compare; give at least one, e.g. ['1.0.0', '1.0.1']")
    return best
