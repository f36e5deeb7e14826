"""Many agents on one store: every queued task runs exactly once (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest

from taskmill import Task
from taskmill.core.states import TaskStatus
from taskmill.store.base import TaskFilter
from tests.agent.conftest import Agents, enqueue, script_task, write

# O_EXCL: a second run of the same task cannot create its file, raises, and fails the task.
ONCE = """
import os, sys
out = os.path.join(os.path.dirname(sys.argv[0]), "ran", os.environ["TASKMILL_TASK_ID"])
os.close(os.open(out, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
"""

N_TASKS = 200
N_AGENTS = 4


def race(agents: Agents, tmp_path: Path) -> None:
    (tmp_path / "ran").mkdir()
    first = script_task(write(tmp_path / "once.py", ONCE), "once")
    tasks = [first.id] + [Task.clone(first, name=f"once{i}").id for i in range(1, N_TASKS)]
    enqueue(*tasks)  # all first: a burst agent exits as soon as it finds the queue empty
    procs = [agents.start("-q", "default", "--burst", "--id", f"racer{i}") for i in range(N_AGENTS)]
    for proc in procs:
        assert proc.wait(120) == 0, agents.output(proc)
    done = agents.store.find_tasks(TaskFilter(ids=tuple(tasks)))
    assert {t.status for t in done} == {TaskStatus.completed}, [(t.id, t.status_message) for t in done]
    assert sorted(p.name for p in (tmp_path / "ran").iterdir()) == sorted(tasks)
    claims = [line for proc in procs for line in agents.output(proc).splitlines() if "running task" in line]
    assert len(claims) == N_TASKS  # each task was claimed once, by exactly one agent
    assert len({t.worker for t in done}) > 1, "one agent took every task: no race happened"


def test_four_agents_sqlite(agents: Agents, tmp_path: Path) -> None:
    race(agents, tmp_path)


@pytest.mark.postgres
def test_four_agents_postgres(pg_agents: Agents, tmp_path: Path) -> None:
    race(pg_agents, tmp_path)
