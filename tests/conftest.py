"""Shared fixtures: real services (PostgreSQL, S3) and an isolated taskmill home per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from taskmill.store.base import TaskStore

pytest_plugins = ["tests.plugins.postgres", "tests.plugins.s3"]

ROOT = Path(__file__).resolve().parent.parent


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """Under CI=true a skipped test is a failure: CI must run every service test."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") == "true" and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.longrepr = f"skipped under CI=true (a service test must run in CI): {reason}"


@pytest.fixture
def tm_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An isolated TASKMILL_HOME (store + artifacts) for this test, and a clean process context."""
    from taskmill.api.session import PROCESS

    home = tmp_path / "tmhome"
    monkeypatch.setenv("TASKMILL_HOME", str(home))
    for var in ("TASKMILL_STORE", "TASKMILL_ARTIFACTS", "TASKMILL_TASK_ID", "TASKMILL_OUTPUT_URI"):
        monkeypatch.delenv(var, raising=False)
    PROCESS.reset()
    yield home
    PROCESS.reset()


@pytest.fixture
def store(tm_home: Path) -> Iterator[TaskStore]:
    """The store of this test's taskmill home."""
    from taskmill.api.session import PROCESS

    yield PROCESS.session().store
