"""Fixtures for the automation tests: a manual clock, real agent processes, a training script."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from taskmill import Task
from taskmill.automation.clock import ManualClock
from taskmill.store.base import TaskStore
from taskmill.store.factory import open_store

TASKMILL = str(Path(sys.executable).parent / "taskmill")
START = datetime(2030, 1, 7, 0, 0, tzinfo=UTC)  #: a Monday

QUADRATIC = """
from taskmill import Task

task = Task.init(project_name="hpo", task_name="quadratic")
params = task.connect({"x": 0.0, "y": 0.0})
loss = (params["x"] - 1.5) ** 2 + (params["y"] + 0.5) ** 2
for i in range(3):  # the last report is the loss itself
    task.get_logger().report_scalar("val", "loss", loss + 2 - i, iteration=i)
"""

ECHO = """
from taskmill import Task

task = Task.init(project_name="jobs", task_name="echo")
args = task.connect({"source": ""}, name="Args")
task.get_logger().report_text(f"source={args['source']}")
"""


def wait_for(check: Callable[[], object], timeout: float = 20.0, what: str = "a condition") -> None:
    """Poll ``check`` every 10 ms until it is truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.01)


@pytest.fixture(scope="session")
def migrated_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty SQLite store with the schema migrated, made once per test session."""
    path = tmp_path_factory.mktemp("template") / "store.db"
    open_store(f"sqlite:///{path}", None).close()
    return path


@pytest.fixture
def tm_home(tm_home: Path, migrated_store: Path) -> Path:
    """The isolated taskmill home of the top conftest, its store file copied from an
    already-migrated one (migrating a new SQLite file costs ~0.15 s per test)."""
    tm_home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(migrated_store, tm_home / "store.db")
    return tm_home


@pytest.fixture
def clock() -> ManualClock:
    """A manual clock at Monday 2030-01-07 00:00 UTC."""
    return ManualClock(START)


def script_task(folder: Path, code: str, name: str, project: str = "jobs") -> Task:
    """A draft task running ``code`` (written to ``folder/<name>.py``)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.py"
    path.write_text(textwrap.dedent(code))
    return Task.create(project_name=project, task_name=name, script=str(path))


@pytest.fixture
def quadratic(tmp_path: Path, store: TaskStore) -> Task:
    """A base task whose script reports ``val/loss = (x-1.5)^2 + (y+0.5)^2`` (last value)."""
    return script_task(tmp_path / "scripts", QUADRATIC, "quadratic", project="hpo")


@pytest.fixture
def echo(tmp_path: Path, store: TaskStore) -> Task:
    """A base task whose script logs its ``Args/source`` parameter."""
    return script_task(tmp_path / "scripts", ECHO, "echo")


@pytest.fixture
def agent(tm_home: Path, tmp_path: Path, store: TaskStore) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """Start ``taskmill agent`` processes on this test's store: ``agent("queue", services=4)``."""
    procs: list[subprocess.Popen[str]] = []
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKMILL_")}
    env.update(TASKMILL_HOME=str(tm_home), TASKMILL_STORE=store.url)

    def start(queue: str, services: int = 4) -> subprocess.Popen[str]:
        log = (tmp_path / f"agent-{len(procs)}.log").open("w")
        args = [TASKMILL, "agent", "-q", queue, "--create-queue", "--heartbeat", "0.5"]
        if services:
            args += ["--services-mode", str(services)]
        proc = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
        log.close()
        procs.append(proc)
        wait_for(lambda: any(queue in w.queues for w in store.list_workers()), 30, f"an agent on '{queue}'")
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
