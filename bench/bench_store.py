"""Store and start-up figures (prints numbers; asserts nothing).

* tracked task create + parameters + complete on SQLite, batched and one by one (tasks/s);
* ``import taskmill`` + ``Task.init`` in a fresh process (ms, median of several runs);
* the same on PostgreSQL when ``--pg URL`` is given.

Usage: python bench/bench_store.py [--tasks N] [--pg postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

from taskmill.core.model import Param, TaskRecord, new_id
from taskmill.core.states import TaskStatus
from taskmill.store.factory import open_store


def tasks_per_second(url: str, n: int, batch: int) -> float:
    store = open_store(url)
    start = time.perf_counter()
    done = 0
    while done < n:
        size = min(batch, n - done)
        with store.batch():
            for _ in range(size):
                t = store.create_task(TaskRecord(id=new_id(), name="bench", project="bench"))
                store.set_params(t.id, [Param("Args", "lr", 0.1), Param("Args", "epochs", 3)])
                store.set_status(t.id, TaskStatus.in_progress)
                store.set_status(t.id, TaskStatus.completed)
        done += size
    elapsed = time.perf_counter() - start
    store.close()
    return n / elapsed


def init_ms(home: str, runs: int = 7) -> float:
    code = (
        "import time; t=time.perf_counter(); import taskmill; taskmill.Task.init('bench', 'init'); "
        "print((time.perf_counter()-t)*1000)"
    )
    env = {**os.environ, "TASKMILL_HOME": home}
    env.pop("TASKMILL_STORE", None)
    subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True)  # warm the store
    samples = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
        )
        samples.append(float(out.stdout.strip()))
    return statistics.median(samples)


def wall_ms(home: str, runs: int = 7) -> float:
    env = {**os.environ, "TASKMILL_HOME": home}
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", "import taskmill; taskmill.Task.init('bench', 'init')"],
            env=env,
            check=True,
            capture_output=True,
        )
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tasks", type=int, default=5000)
    ap.add_argument("--pg", default="")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        print(
            f"SQLite  batched (500/txn): {tasks_per_second(url, args.tasks, 500):8.0f} tasks/s "
            "(create + 2 params + start + complete)"
        )
        print(f"SQLite  one by one:        {tasks_per_second(url, min(args.tasks, 1000), 1):8.0f} tasks/s")
        if args.pg:
            print(f"Postgres batched:          {tasks_per_second(args.pg, args.tasks, 500):8.0f} tasks/s")
            print(f"Postgres one by one: {tasks_per_second(args.pg, min(args.tasks, 1000), 1):8.0f} tasks/s")
        print(f"import taskmill + Task.init, in-process:  {init_ms(tmp):6.1f} ms (median)")
        print(f"python -c 'import taskmill; Task.init()': {wall_ms(tmp):6.1f} ms wall (interpreter + exit)")


if __name__ == "__main__":
    main()
