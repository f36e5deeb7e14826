"""Formatting helpers shared by the CLI commands."""

from __future__ import annotations

import pytest

from taskmill.cli._common import format_duration, human_size, relative_time, short_hash, task_duration
from taskmill.core.model import TaskRecord
from taskmill.core.states import TaskStatus


@pytest.mark.parametrize(
    ("age", "text"),
    [
        (-5, "just now"),
        (3, "just now"),
        (42, "42 s ago"),
        (180, "3 min ago"),
        (7200, "2 h ago"),
        (86400, "1 day ago"),
        (5 * 86400, "5 days ago"),
    ],
)
def test_relative_time(age: float, text: str) -> None:
    assert relative_time(1_000_000.0 - age, now=1_000_000.0) == text


def test_relative_time_unset() -> None:
    assert relative_time(None) == "-" and relative_time(0.0) == "-"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "-"), (0.25, "0.2s"), (42, "42s"), (185, "3m 05s"), (7380, "2h 03m"), (100_000, "1d 03h")],
)
def test_format_duration(seconds: float | None, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (1536, "1.5 KiB"),
        (3 * 1024**2, "3.0 MiB"),
        (5 * 1024**4, "5.0 TiB"),
        (2048 * 1024**4, "2048.0 TiB"),
    ],
)
def test_human_size(size: int, text: str) -> None:
    assert human_size(size) == text


def test_short_hash() -> None:
    assert short_hash("sha256:" + "0123456789" * 6) == "sha256:01234567"
    assert short_hash("deadbeefcafe") == "deadbeef"
    assert short_hash("") == "-"


def test_task_duration() -> None:
    base = TaskRecord(id="x", name="n", project="p")
    assert task_duration(base) is None
    running = TaskRecord(id="x", name="n", project="p", status=TaskStatus.in_progress, started=100.0)
    assert task_duration(running, now=130.0) == 30.0
    done = TaskRecord(
        id="x", name="n", project="p", status=TaskStatus.completed, started=100.0, completed=160.0
    )
    assert task_duration(done, now=1e9) == 60.0
    lost = TaskRecord(id="x", name="n", project="p", status=TaskStatus.failed, started=100.0)
    assert task_duration(lost, now=1e9) is None
