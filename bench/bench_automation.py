"""Automation figures (prints numbers; asserts only that every event and trial ran exactly once).

1. Trigger latency: a ``TriggerScheduler`` (its loop running, woken by the store's event feed)
   watches a dataset project; a warm agent serves the queue its launches go to. For each of
   ``--events`` new dataset versions: from the version becoming final (its ``completed`` time) to
   the launched task *running* (claimed by the agent, ``started``), with the split at the clone's
   creation. Median and p95; on SQLite, and on PostgreSQL with ``--store pg|all``.
2. Hyper-parameter optimization: ``--trials`` trials of a task that sleeps 0.1 s and reports a
   scalar, ``--concurrent`` at once, run by one agent in services mode. Wall time, against the
   ideal ``trials * 0.1 / concurrent``, and the overhead per trial: each slot's time not spent in
   the 0.1 s body (``wall * concurrent / trials - 0.1``), split into launch (queued -> running)
   and the task process itself (running -> ended, less 0.1 s).

Each part uses a fresh TASKMILL_HOME. PostgreSQL: ``--pg URL`` (an empty server to create
databases on), else a throwaway one (initdb/pg_ctl), as in ``bench_agent.py``.
Usage: python bench/bench_automation.py [--events 20] [--trials 50] [--concurrent 4]
                                       [--store sqlite|pg|all] [--pg URL] [--only 1|2]
"""

from __future__ import annotations

import argparse
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench_agent import TASKMILL, env_for, new_database, report, throwaway_postgres, use

ECHO = """
from taskmill import Task
task = Task.init(project_name="bench", task_name="on-new-data")
args = task.connect({"dataset": ""}, name="Args")
"""

TRIAL = """
import time
from taskmill import Task
task = Task.init(project_name="bench", task_name="trial")
params = task.connect({"x": 0.0, "y": 0.0})
time.sleep(0.1)
task.get_logger().report_scalar("val", "loss", (params["x"] - 1.5) ** 2 + (params["y"] + 0.5) ** 2, 0)
"""


@contextmanager
def agent(home: Path, store_url: str, queue: str, services: int) -> Iterator[subprocess.Popen[bytes]]:
    """A warm ``taskmill agent`` on ``queue`` for the duration."""
    from taskmill.api.session import PROCESS

    proc = subprocess.Popen(
        [TASKMILL, "agent", "-q", queue, "--create-queue", "--services-mode", str(services)],
        env=env_for(home, store_url),
        stderr=subprocess.DEVNULL,
    )
    store = PROCESS.session().store
    try:
        deadline = time.monotonic() + 30
        while not any(queue in w.queues for w in store.list_workers()):
            if time.monotonic() > deadline:
                raise SystemExit("the agent did not register within 30 s")
            time.sleep(0.01)
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


# -- 1. trigger latency ----------------------------------------------------------------------------


def bench_trigger(events: int, store_url: str, home: Path) -> None:
    from taskmill import Dataset, Task
    from taskmill.automation import TriggerScheduler

    use(home, store_url)
    script = home / "echo.py"
    script.write_text(textwrap.dedent(ECHO))
    base = Task.create(project_name="bench", task_name="on-new-data", script=str(script))
    data = home / "files"
    data.mkdir()
    with agent(home, store_url, "jobs", services=2):
        triggers = TriggerScheduler()
        triggers.add_dataset_trigger(
            schedule_task_id=base,
            schedule_queue="jobs",
            trigger_project="lake",
            name="on-new-data",
            task_parameters={"Args/dataset": "${dataset.id}"},
        )
        loop = threading.Thread(target=triggers.start, daemon=True)
        loop.start()
        while "lease" not in triggers.get_state():
            time.sleep(0.01)
        to_clone: list[float] = []
        to_running: list[float] = []
        parent: str | None = None
        for i in range(events):
            path = data / f"{uuid.uuid4().hex}.csv"
            path.write_text(f"i\n{i}\n")
            version = Dataset.create(
                dataset_name="raw", dataset_project="lake", parent_datasets=[parent] if parent else None
            )
            version.add_files(str(path))
            version.upload()
            time.sleep(0.05)  # the trigger is idle, waiting on the event feed
            version.finalize()
            parent = version.id
            final = Task.get_task(task_id=version.id).data.completed or time.time()
            deadline = time.monotonic() + 60
            while True:
                launched = [
                    t
                    for t in Task.get_tasks(project_name="bench", task_name="on-new-data")
                    if t.get_parameters().get("Args/dataset") == version.id
                ]
                if launched and launched[0].data.started:
                    break
                if time.monotonic() > deadline:
                    raise SystemExit(f"no task ran for dataset version {version.id} within 60 s")
                time.sleep(0.002)
            run = launched[0].data
            assert len(launched) == 1, "a dataset version fired more than once"
            to_clone.append(run.created - final)
            to_running.append((run.started or 0.0) - final)
        triggers.stop()
        loop.join(30)
    kind = store_url.split(":", 1)[0].split("+")[0]
    print(f"1. trigger latency, new dataset version -> launched task running ({kind}, {events} events):")
    report("version final -> clone created (trigger fired)", to_clone)
    report("version final -> task running (claimed by agent)", to_running)


# -- 2. hyper-parameter optimization ---------------------------------------------------------------


def bench_hpo(trials: int, concurrent: int, store_url: str, home: Path) -> None:
    from taskmill import Task
    from taskmill.automation import HyperParameterOptimizer, RandomSearch, UniformParameterRange

    use(home, store_url)
    script = home / "trial.py"
    script.write_text(textwrap.dedent(TRIAL))
    base = Task.create(project_name="bench", task_name="trial", script=str(script))
    with agent(home, store_url, "hpo", services=concurrent):
        optimizer = HyperParameterOptimizer(
            base.id,
            [UniformParameterRange("General/x", 0.0, 3.0), UniformParameterRange("General/y", -1.0, 1.0)],
            "val",
            "loss",
            "min",
            optimizer_class=RandomSearch,
            max_number_of_concurrent_tasks=concurrent,
            execution_queue="hpo",
            total_max_jobs=trials,
            pool_period_min=0.01,
        )
        started = time.perf_counter()
        optimizer.start()
        optimizer.wait()
        wall = time.perf_counter() - started
    if optimizer.error is not None:
        raise SystemExit(f"the optimization failed: {optimizer.error}")
    done = [t.task.data for t in optimizer.get_trials()]
    assert len(done) == trials and {r.status.value for r in done} == {"completed"}, "a trial did not complete"
    launch = [(r.started or 0.0) - r.created for r in done]
    process = [(r.completed or 0.0) - (r.started or 0.0) - 0.1 for r in done]
    ideal = trials * 0.1 / concurrent
    per_trial = wall * concurrent / trials - 0.1
    best = optimizer.get_top_experiments_details(1)[0]
    kind = store_url.split(":", 1)[0]
    print(f"2. HPO: {trials} trials of a 0.1 s task, {concurrent} at once, one agent ({kind}):")
    print(f"  wall {wall:.2f} s (ideal {ideal:.2f} s); overhead per trial {per_trial * 1000:.0f} ms")
    print(f"  per trial: created -> running median {statistics.median(launch) * 1000:.0f} ms; ", end="")
    print(f"task process beyond its 0.1 s median {statistics.median(process) * 1000:.0f} ms")
    print(f"  best: {best['hyper_parameters']} -> {best['metrics']}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=20, help="dataset versions for the trigger latency")
    parser.add_argument("--trials", type=int, default=50, help="HPO trials")
    parser.add_argument("--concurrent", type=int, default=4, help="HPO trials at once")
    parser.add_argument(
        "--store", choices=["sqlite", "pg", "all"], default="sqlite", help="trigger latency store"
    )
    parser.add_argument("--pg", metavar="URL", help="an existing PostgreSQL server (admin URL)")
    parser.add_argument("--only", type=int, choices=[1, 2], action="append", help="run only these parts")
    args = parser.parse_args()
    parts = set(args.only or [1, 2])

    def home() -> Path:
        return Path(tempfile.mkdtemp(prefix="tm-bench-automation-"))

    if 1 in parts and args.store in ("sqlite", "all"):
        h = home()
        bench_trigger(args.events, f"sqlite:///{h / 'store.db'}", h)
    if 2 in parts:
        h = home()
        bench_hpo(args.trials, args.concurrent, f"sqlite:///{h / 'store.db'}", h)
    if 1 in parts and args.store in ("pg", "all"):
        with contextmanager(lambda: iter([args.pg]))() if args.pg else throwaway_postgres() as admin:
            bench_trigger(args.events, new_database(admin, "tm_bench_trigger"), home())


if __name__ == "__main__":
    sys.exit(main())
