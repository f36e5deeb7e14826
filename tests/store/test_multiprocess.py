"""Two (or more) processes writing one store at once lose nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from taskmill.store.base import TaskFilter
from taskmill.store.factory import open_store

WRITER = """
import sys
from taskmill.core.model import LogLine, Param, ScalarPoint, TaskRecord, new_id
from taskmill.core.states import TaskStatus
from taskmill.store.factory import open_store
url, k, shared = sys.argv[1], sys.argv[2], sys.argv[3]
s = open_store(url)
for i in range(40):
    t = s.create_task(TaskRecord(id=new_id(), name=f"w{k}-{i}", project="mp"))
    s.set_params(t.id, [Param("Args", "i", i)])
    s.set_status(t.id, TaskStatus.in_progress)
    s.set_status(t.id, TaskStatus.completed)
    s.append_log(shared, [LogLine(f"{k}:{i}")])
    s.add_scalars(shared, [ScalarPoint("m", k, i, float(i))])
s.close()
"""


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_concurrent_writer_processes(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    url = f"sqlite:///{tmp_path}/mp.db" if backend == "sqlite" else str(request.getfixturevalue("pg_url"))
    from taskmill.core.model import TaskRecord, new_id

    store = open_store(url)
    shared = store.create_task(TaskRecord(id=new_id(), name="shared", project="mp")).id
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, url, str(k), shared], stderr=subprocess.PIPE, text=True
        )
        for k in range(3)
    ]
    errs = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], errs
    tasks = [t for t in store.find_tasks(TaskFilter(project="mp")) if t.name != "shared"]
    assert len(tasks) == 120
    assert all(t.status.value == "completed" for t in tasks)
    assert len(store.get_log(shared)) == 120
    assert [ln.seq for ln in store.get_log(shared)] == list(range(1, 121))
    assert len(store.get_scalars(shared)) == 120
    store.close()
