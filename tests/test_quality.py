"""Code-quality gates run as part of the suite: layers (import-linter), mypy strict, ruff."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_layers_are_respected() -> None:
    proc = run(str(BIN / "lint-imports"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "broken" in proc.stdout and "0 broken" in proc.stdout


def test_layer_contract_catches_a_violation(tmp_path: Path) -> None:
    # The contract must be able to fail: a store module importing the api layer is reported.
    bad = ROOT / "src" / "taskmill" / "store" / "_layer_probe.py"
    bad.write_text("import taskmill.api.task  # noqa: F401\n")
    try:
        proc = run(str(BIN / "lint-imports"), "--no-cache")
    finally:
        bad.unlink()
    assert proc.returncode != 0 and "BROKEN" in proc.stdout


def test_mypy_strict_on_src() -> None:
    proc = run(sys.executable, "-m", "mypy", "src")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_clean() -> None:
    check = run(str(BIN / "ruff"), "check", "src", "tests", "bench", "examples")
    assert check.returncode == 0, check.stdout
    fmt = run(str(BIN / "ruff"), "format", "--check", "src")
    assert fmt.returncode == 0, fmt.stdout
