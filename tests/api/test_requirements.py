"""Requirement lines: adjusting a recorded freeze and building specifiers."""

from __future__ import annotations

from taskmill.api.requirements import adjust, specifier


def test_adjust_replaces_by_canonical_name_and_drops_comments() -> None:
    recorded = "Scikit_Learn==1.3.0\nnumpy==2.0\n# comment\n\nrich==13"
    out = adjust(recorded, {"scikit-learn": "scikit-learn==1.5.0"}, {"RICH"})
    assert out.splitlines() == ["numpy==2.0", "scikit-learn==1.5.0"]
    assert specifier("surely-not-installed-pkg", None) == "surely-not-installed-pkg"
    assert specifier("x", "~=1.4") == "x~=1.4"


def test_adjust_keeps_option_lines_urls_and_markers() -> None:
    text = (
        "--extra-index-url https://example.invalid/simple\n"
        "tm-pkg @ file:///w/tm_pkg-1.0-py3-none-any.whl#sha256=ab  # a wheel\n"
        'tomli; python_version < "3.11"\n'
        "numpy>=2 --hash=sha256:00\n"
    )
    assert adjust("", {}, {"numpy"}, text).splitlines() == [
        "--extra-index-url https://example.invalid/simple",
        "tm-pkg @ file:///w/tm_pkg-1.0-py3-none-any.whl#sha256=ab",
        'tomli; python_version < "3.11"',
    ]
