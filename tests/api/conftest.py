"""Helpers for Task API tests: run real scripts in fresh interpreters against a test home."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

RunScript = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def run_script(tm_home: Path, tmp_path: Path) -> RunScript:
    """Write ``code`` to a script file and run it with ``python``; returns the finished process."""

    def run(
        code: str,
        *args: str,
        env: dict[str, str] | None = None,
        name: str = "script.py",
        cwd: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        folder = cwd or tmp_path / "proj"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        path.write_text(textwrap.dedent(code))
        full_env = {**os.environ, "TASKMILL_HOME": str(tm_home), **(env or {})}
        return subprocess.run(
            [sys.executable, str(path), *args],
            cwd=folder,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    return run
