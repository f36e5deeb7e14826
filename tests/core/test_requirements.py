"""Requirement lines parsed and judged with ``packaging``: specifiers, markers, extras, URLs, options."""

from __future__ import annotations

import pytest

from taskmill.core.requirements import (
    RequirementLine,
    canonical_name,
    is_met,
    parse_line,
    parse_requirements,
    unmet_requirements,
)

NUMPY = {"numpy": "2.4.6"}
PY311 = {"python_version": "3.11", "python_full_version": "3.11.7", "sys_platform": "linux"}


def met(line: str, installed: dict[str, str], **kwargs: object) -> bool:
    parsed = parse_line(line)
    assert parsed is not None
    return is_met(parsed, installed, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("line", ["numpy<2", "numpy>=3", "numpy~=1.26", "numpy==1.26.4", "numpy!=2.4.6"])
def test_specifiers_the_installed_version_does_not_satisfy_are_unmet(line: str) -> None:
    assert not met(line, NUMPY)


@pytest.mark.parametrize(
    "line", ["numpy", "numpy>=2,<3", "numpy==2.4.*", "numpy~=2.4", "NumPy == 2.4.6", "numpy===2.4.6"]
)
def test_specifiers_the_installed_version_satisfies_are_met(line: str) -> None:
    assert met(line, NUMPY)


def test_missing_package_and_unparsable_installed_version() -> None:
    assert not met("pandas", NUMPY)
    assert not met("weird>=1", {"weird": "not a version"})
    assert met("weird", {"weird": "not a version"})  # no specifier: having it is enough
    assert met("numpy>=1", {"numpy": "2.0.0rc1"})  # an installed pre-release still counts


def test_markers_are_evaluated_against_the_environment() -> None:
    line = 'tomli; python_version < "3.11"'
    assert met(line, {}, environment=PY311)  # not needed on 3.11: met although tomli is absent
    assert not met(line, {}, environment={**PY311, "python_version": "3.10"})
    assert met('numpy<2 ; sys_platform == "win32"', NUMPY, environment=PY311)
    assert not met('numpy<2 ; sys_platform == "linux"', NUMPY, environment=PY311)
    # without an explicit environment: this interpreter's
    assert met('surely-absent-pkg; python_version < "3.0"', {})


def test_extras_need_the_extras_dependencies() -> None:
    requires = {
        "pkg": ["dep>=1", 'extra-dep>=2; extra == "fast"', 'other; extra == "slow"'],
        "extra-dep": [],
    }

    def lookup(name: str) -> list[str]:
        return requires.get(name, [])

    installed = {"pkg": "1.0", "dep": "1.0"}
    assert met("pkg", installed, requires=lookup)
    assert not met("pkg[fast]", installed, requires=lookup)  # extra-dep missing
    assert met("pkg[fast]", {**installed, "extra-dep": "2.1"}, requires=lookup)
    assert not met("pkg[fast]", {**installed, "extra-dep": "1.0"}, requires=lookup)  # too old
    assert not met("pkg[fast,slow]", {**installed, "extra-dep": "2.1"}, requires=lookup)
    # no way to look dependencies up: the distribution itself decides
    assert met("pkg[fast]", installed)


def test_direct_urls_need_the_name_installed() -> None:
    parsed = parse_line("tm-pkg @ file:///wheels/tm_pkg-1.0-py3-none-any.whl#sha256=abc")
    assert parsed is not None and parsed.requirement is not None
    assert parsed.requirement.url == "file:///wheels/tm_pkg-1.0-py3-none-any.whl#sha256=abc"
    assert parsed.name == "tm-pkg"
    assert is_met(parsed, {"tm-pkg": "1.0"})
    assert not is_met(parsed, {})


def test_option_lines_pass_through_and_unverifiable_lines_are_unmet() -> None:
    text = """
        # a comment
        --index-url https://example.invalid/simple
        -i https://example.invalid/simple
        --extra-index-url=https://example.invalid/extra
        --find-links /opt/wheels
        --pre
        --no-index
        -e ./local
        -r other.txt
        ./path/to/pkg
        https://example.invalid/pkg-1.0-py3-none-any.whl
        numpy==2.4.6 --hash=sha256:0123456789abcdef  # pinned with a hash
        rich >= 13 \\
            ; python_version > "3"
    """
    lines = parse_requirements(text)
    assert [line.text for line in lines] == [
        "--index-url https://example.invalid/simple",
        "-i https://example.invalid/simple",
        "--extra-index-url=https://example.invalid/extra",
        "--find-links /opt/wheels",
        "--pre",
        "--no-index",
        "-e ./local",
        "-r other.txt",
        "./path/to/pkg",
        "https://example.invalid/pkg-1.0-py3-none-any.whl",
        "numpy==2.4.6 --hash=sha256:0123456789abcdef",
        'rich >= 13 ; python_version > "3"',
    ]
    assert [line.option for line in lines[:8]] == [
        "--index-url",
        "-i",
        "--extra-index-url",
        "--find-links",
        "--pre",
        "--no-index",
        "-e",
        "-r",
    ]
    assert all(line.requirement is None for line in lines[:10])
    assert lines[10].name == "numpy" and lines[11].name == "rich"
    unmet = unmet_requirements(lines, {**NUMPY, "rich": "13.7.1"})
    assert [line.text for line in unmet] == [
        "-e ./local",
        "-r other.txt",
        "./path/to/pkg",
        "https://example.invalid/pkg-1.0-py3-none-any.whl",
    ]


def test_comments_blanks_and_names() -> None:
    assert parse_line("") is None and parse_line("   # only a comment") is None
    assert parse_requirements("a==1\n\n#x\nb  # trailing\n") == [
        parse_line("a==1"),
        parse_line("b"),
    ]
    line = parse_line("Foo_Bar.baz[Extra] >= 1.0")
    assert isinstance(line, RequirementLine)
    assert line.name == "foo-bar-baz" and line.requirement is not None
    assert line.requirement.extras == {"Extra"}
    assert canonical_name("Scikit_Learn") == "scikit-learn"
    assert canonical_name("zope.interface") == "zope-interface"
