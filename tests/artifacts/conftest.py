"""Fixtures shared by the artifact tests: a store on a temporary local folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from taskmill.artifacts import ArtifactStore


@pytest.fixture
def store(tmp_path: Path) -> ArtifactStore:
    """An artifact store writing under ``tmp_path/store`` with its cache in ``tmp_path/cache``."""
    return ArtifactStore(str(tmp_path / "store"), str(tmp_path / "cache"))
