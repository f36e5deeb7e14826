"""Fixtures for agent tests: real ``taskmill agent`` processes on a store in tmp_path."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from taskmill import Task
from taskmill.api.session import PROCESS
from taskmill.core.model import TaskRecord
from taskmill.store.base import TaskStore

TASKMILL = str(Path(sys.executable).parent / "taskmill")


def write(path: Path, code: str) -> Path:
    """Write dedented ``code`` to ``path`` (parents created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(code))
    return path


def wait_for(check: Callable[[], object], timeout: float, what: str) -> None:
    """Poll ``check`` every 20 ms until it is truthy; fail the test after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


@dataclass
class Agents:
    """Starts agent processes on the test's store and cleans them up."""

    home: Path
    store: TaskStore
    logs: Path
    procs: list[subprocess.Popen[str]] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TASKMILL_")}
        env["TASKMILL_HOME"] = str(self.home)
        env["TASKMILL_STORE"] = self.store.url
        return env

    def start(self, *args: str, name: str = "agent") -> subprocess.Popen[str]:
        """Start ``taskmill agent ARGS`` in the background; its stderr goes to ``logs/<name>.log``."""
        self.logs.mkdir(parents=True, exist_ok=True)
        log = (self.logs / f"{name}-{len(self.procs)}.log").open("w")
        proc = subprocess.Popen(
            [TASKMILL, "agent", *args], env=self.env, stdout=log, stderr=subprocess.STDOUT, text=True
        )
        log.close()
        self.procs.append(proc)
        return proc

    def run(
        self, *args: str, timeout: float = 60.0, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run ``taskmill agent ARGS`` to its end (use --burst or --max-tasks); output captured.
        ``env`` adds variables to the agent's environment (its tasks inherit them)."""
        return subprocess.run(
            [TASKMILL, "agent", *args],
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def output(self, proc: subprocess.Popen[str]) -> str:
        """What a background agent printed so far."""
        index = self.procs.index(proc)
        return "".join(p.read_text() for p in self.logs.glob(f"*-{index}.log"))

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def agents(tm_home: Path, tmp_path: Path, store: TaskStore) -> Iterator[Agents]:
    """Agents on the SQLite store of this test's taskmill home (queue ``default`` exists)."""
    store.create_queue("default")
    helper = Agents(tm_home, store, tmp_path / "agent-logs")
    yield helper
    helper.stop_all()


@pytest.fixture
def pg_agents(
    tm_home: Path, tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Agents]:
    """Agents on a fresh PostgreSQL database (the test process uses it too)."""
    monkeypatch.setenv("TASKMILL_STORE", pg_url)
    PROCESS.reset()
    store = PROCESS.session().store
    store.create_queue("default")
    helper = Agents(tm_home, store, tmp_path / "agent-logs")
    yield helper
    helper.stop_all()


def script_task(path: Path, name: str | None = None, **params: object) -> Task:
    """A draft task running ``path`` with ``General/`` parameters ``params``."""
    task = Task.create(project_name="agent-tests", task_name=name or path.stem, script=str(path))
    if params:
        task.set_parameters({f"General/{k}": v for k, v in params.items()})
    return task


def enqueue(*tasks: Task | str, queue: str = "default") -> None:
    """Put tasks in a queue."""
    for task in tasks:
        Task.enqueue(task, queue_name=queue)


def record(store: TaskStore, task: Task | str) -> TaskRecord:
    """The stored task."""
    return store.get_task(task if isinstance(task, str) else task.id)


def log_text(store: TaskStore, task: Task | str) -> str:
    """The task's console log as one string."""
    return "\n".join(line.text for line in store.get_log(task if isinstance(task, str) else task.id))
