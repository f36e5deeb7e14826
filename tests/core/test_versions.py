"""Pipeline version strings: validation, bumping, numeric comparison."""

from __future__ import annotations

import pytest

from taskmill.core.versions import (
    DEFAULT_VERSION,
    check_version,
    is_valid_version,
    max_version,
    next_version,
    version_key,
)


@pytest.mark.parametrize("version", ["1.0.1", "23", "1.2", "0", "1.0.0.0", "01.2", DEFAULT_VERSION])
def test_valid_versions(version: str) -> None:
    assert is_valid_version(version)
    assert check_version(version) == version


@pytest.mark.parametrize(
    "version",
    ["", "1.", ".1", "1..2", "v1.0", "1.0-rc1", " 1.0", "1.0 ", "1,0", "-1", "²", "1.a", None, 1, 1.0],
)
def test_invalid_versions(version: object) -> None:
    assert not is_valid_version(version)
    with pytest.raises(ValueError, match=r"not a numeric dotted version; use e\.g\. '1\.0\.0'"):
        check_version(version)


@pytest.mark.parametrize(
    ("version", "expected"),
    [("1.0.0", "1.0.1"), ("1.2", "1.3"), ("10", "11"), ("1.0.9", "1.0.10"), ("9.99", "9.100"), ("0", "1")],
)
def test_next_version_bumps_the_last_part(version: str, expected: str) -> None:
    assert next_version(version) == expected


def test_next_version_rejects_invalid() -> None:
    with pytest.raises(ValueError, match=r"'1\.x'"):
        next_version("1.x")


def test_max_version_compares_numerically_not_as_text() -> None:
    assert max_version(["1.9", "1.10", "1.2"]) == "1.10"
    assert max_version(["2", "10", "9.9.9"]) == "10"
    assert max_version(["1.0.0"]) == "1.0.0"
    assert max_version(iter(["0.1", "0.0.9"])) == "0.1"


def test_max_version_keeps_the_first_of_equal_versions() -> None:
    assert max_version(["1.2", "1.2.0"]) == "1.2"
    assert max_version(["1.2.0", "1.2"]) == "1.2.0"


def test_max_version_errors() -> None:
    with pytest.raises(ValueError, match="no versions"):
        max_version([])
    with pytest.raises(ValueError, match="'abc'"):
        max_version(["1.0", "abc"])


def test_version_key_ignores_trailing_zeros() -> None:
    assert version_key("1.2.0") == version_key("1.2") == (1, 2)
    assert version_key("0.0") == (0,)
    assert sorted(["1.10", "1.9", "1.9.1", "2"], key=version_key) == ["1.9", "1.9.1", "1.10", "2"]
