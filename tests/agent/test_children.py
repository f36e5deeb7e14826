"""The agent's Spawner on real processes: its warm worker learns what the tasks import."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from taskmill.agent.children import Spawner

ROOT = str(Path(__file__).resolve().parents[2])
HERE = "tests.agent.test_children"

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="warm workers are POSIX only")


def has_module(name: str) -> int:
    """Task target: exit 0 when ``name`` was imported before the task started, 3 when not."""
    return 0 if name in sys.modules else 3


def import_module(name: str) -> None:
    """Task target: import ``name`` (a task that imports a library)."""
    __import__(name)


@pytest.fixture
def spawner() -> Iterator[Spawner]:
    sp = Spawner(env=dict(os.environ), preload=("taskmill",), sys_path=[ROOT])
    sp.start()
    yield sp
    sp.close()


def run(sp: Spawner, key: str, target: str, *args: str) -> int:
    return sp.spawn_warm(key, f"{HERE}:{target}", list(args), {}).wait()


def test_the_warm_worker_learns_from_the_first_task(spawner: Spawner) -> None:
    # the agent's own modules are not preloaded for its tasks (warm=()), what a task imports is
    assert run(spawner, "before", "has_module", "colorsys") == 3
    assert run(spawner, "teach", "import_module", "colorsys") == 0
    deadline = time.monotonic() + 20
    while run(spawner, f"after-{time.monotonic()}", "has_module", "colorsys") != 0:
        assert time.monotonic() < deadline, "the warm worker did not learn colorsys"
        time.sleep(0.05)


def test_a_task_importing_a_missing_module_does_not_hurt_the_worker(spawner: Spawner) -> None:
    assert run(spawner, "missing", "import_module", "no_such_module_tm") == 1
    assert run(spawner, "still", "has_module", "taskmill") == 0
