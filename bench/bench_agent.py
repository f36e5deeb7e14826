"""Agent figures (prints numbers; asserts only that every task ran exactly once).

1. Enqueue-to-running latency of a function step on a warm, idle agent: from ``enqueue`` to the
   step's function body starting in its own process (and, separately, to the agent's claim).
   Median and p95 of ``--n`` steps enqueued one at a time; target median <= 50 ms. On SQLite,
   on PostgreSQL, and through a ``taskmill server`` on loopback (over SQLite).
2. Throughput: ``--tasks`` queued trivial script tasks drained by ``--agents`` agents in burst mode
   on one PostgreSQL database; every task must run exactly once. Prints tasks/s.

Each part uses a fresh TASKMILL_HOME. PostgreSQL: ``--pg URL`` (an empty database), else a
throwaway server is started with initdb/pg_ctl when they are installed (as the tests do).
Usage: python bench/bench_agent.py [--n 50] [--tasks 1000] [--agents 4] [--store sqlite|pg|http|all]
                                  [--pg URL] [--only 1|2]
"""

from __future__ import annotations

import argparse
import glob
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

TASKMILL = str(Path(sys.executable).parent / "taskmill")

PIPELINE = """
import time
from taskmill import PipelineController

def started(x: int = 0) -> float:
    return time.time()

pipe = PipelineController(name="latency", project="bench", version="1.0")
pipe.add_function_step("started", started, function_kwargs={"x": 0}, function_return=["t"])
pipe.start_locally(run_pipeline_steps_locally=True, progress=False)
print("RUN", pipe.id)
"""

ONCE = """
import os, sys
os.close(os.open(os.path.join(os.path.dirname(sys.argv[0]), "ran", os.environ["TASKMILL_TASK_ID"]),
                 os.O_CREAT | os.O_EXCL | os.O_WRONLY))
"""


def env_for(home: Path, store_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKMILL_")}
    return {**env, "TASKMILL_HOME": str(home), "TASKMILL_STORE": store_url}


def use(home: Path, store_url: str) -> None:
    """Point this process's taskmill session at ``store_url``."""
    from taskmill.api.session import PROCESS

    os.environ.update(env_for(home, store_url))
    os.environ.pop("TASKMILL_TASK_ID", None)
    PROCESS.reset()


def report(label: str, seconds: list[float]) -> None:
    ms = sorted(s * 1000 for s in seconds)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    print(f"  {label:<46} median {statistics.median(ms):7.2f} ms   p95 {p95:7.2f} ms   (n={len(ms)})")


# -- 1. latency ------------------------------------------------------------------------------------


def bench_latency(n: int, store_url: str, home: Path) -> None:
    from taskmill import Task
    from taskmill.api.session import PROCESS
    from taskmill.store.base import TaskFilter

    use(home, store_url)
    store = PROCESS.session().store
    store.create_queue("bench")
    script = home / "pipe.py"
    script.write_text(textwrap.dedent(PIPELINE))
    proc = subprocess.run(
        [sys.executable, str(script)], env=env_for(home, store_url), capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise SystemExit(f"the pipeline that makes the function step failed:\n{proc.stdout}{proc.stderr}")
    run_id = proc.stdout.split("RUN ")[-1].split()[0]
    (step,) = store.find_tasks(TaskFilter(parent=run_id, name="started"))
    clones = [Task.clone(step.id, name=f"latency {i}").id for i in range(n)]
    agent = subprocess.Popen(
        [TASKMILL, "agent", "-q", "bench", "--id", "bench-agent"],
        env=env_for(home, store_url),
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not store.list_workers():
            if time.monotonic() > deadline:
                raise SystemExit("the agent did not register within 30 s")
            time.sleep(0.01)
        to_body: list[float] = []
        to_claim: list[float] = []
        for task_id in clones:
            # The agent is idle, waiting on the event feed; random gaps, so that a store's polling
            # period (SQLite) cannot phase-lock with the enqueues.
            time.sleep(random.uniform(0.05, 0.25))
            enqueued = time.time()
            store.enqueue(task_id, "bench")
            while not (rec := store.get_task(task_id)).status.is_final:
                time.sleep(0.002)
            if rec.status.value != "completed":
                raise SystemExit(f"step {task_id} ended {rec.status.value}: {rec.status_message}")
            body = Task.get_task(task_id=task_id).get_parameters()["return/t"]
            to_body.append(float(body) - enqueued)
            to_claim.append((rec.started or enqueued) - enqueued)
        kind = store_url.split(":", 1)[0].split("+")[0]
        kind = "taskmill server on loopback, over SQLite" if kind == "http" else kind
        print(f"1. enqueue -> running, function step on a warm idle agent ({kind}):")
        report("enqueue -> claimed (in_progress)", to_claim)
        report("enqueue -> step function body starts", to_body)
    finally:
        agent.send_signal(signal.SIGTERM)
        agent.wait(30)


# -- 2. throughput ---------------------------------------------------------------------------------


def bench_throughput(n_tasks: int, n_agents: int, store_url: str, home: Path) -> None:
    from taskmill import Task
    from taskmill.api.session import PROCESS
    from taskmill.store.base import TaskFilter

    use(home, store_url)
    store = PROCESS.session().store
    store.create_queue("bulk")
    (home / "ran").mkdir(parents=True)
    script = home / "once.py"
    script.write_text(textwrap.dedent(ONCE))
    first = Task.create(project_name="bench", task_name="once", script=str(script))
    ids = [first.id] + [Task.clone(first, name=f"once {i}").id for i in range(1, n_tasks)]
    with store.batch():
        for task_id in ids:
            store.enqueue(task_id, "bulk")
    started = time.perf_counter()
    agents = [
        subprocess.Popen(
            [TASKMILL, "agent", "-q", "bulk", "--burst", "--id", f"bulk{i}"],
            env=env_for(home, store_url),
            stderr=subprocess.DEVNULL,
        )
        for i in range(n_agents)
    ]
    codes = [a.wait() for a in agents]
    elapsed = time.perf_counter() - started
    done = store.find_tasks(TaskFilter(ids=tuple(ids)))
    statuses = {t.status.value for t in done}
    ran = sorted(p.name for p in (home / "ran").iterdir())
    per_agent = {f"bulk{i}": sum(1 for t in done if t.worker == f"bulk{i}") for i in range(n_agents)}
    assert codes == [0] * n_agents, f"agent exit codes {codes}"
    assert statuses == {"completed"}, f"statuses {statuses}"
    assert ran == sorted(ids), "some task did not run, or ran twice"
    kind = store_url.split(":", 1)[0].split("+")[0]
    print(f"2. {n_tasks} trivial tasks, {n_agents} agents in burst mode, one {kind} store:")
    rate = n_tasks / elapsed
    print(f"  all ran exactly once; {elapsed:.2f} s from agent start to the last exit: {rate:.1f} tasks/s")
    print(f"  tasks per agent: {per_agent}")


# -- servers ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def loopback_server(home: Path, store_url: str) -> Iterator[str]:
    """A ``taskmill server --no-auth`` on a free loopback port over ``store_url``; yields its URL."""
    import httpx

    port = free_port()
    server = subprocess.Popen(
        [TASKMILL, "server", "--port", str(port), "--no-auth", "--store", store_url],
        env=env_for(home, store_url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("the taskmill server did not come up within 30 s")
            time.sleep(0.05)
        yield url
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)


# -- PostgreSQL ------------------------------------------------------------------------------------


@contextmanager
def throwaway_postgres() -> Iterator[str]:
    """A PostgreSQL server on a free loopback port for the duration (initdb + pg_ctl)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb")) or [shutil.which("initdb") or ""]
    if not found[-1]:
        raise SystemExit("PostgreSQL is not installed: give --pg URL or install the 'postgresql' package")
    bindir = Path(found[-1]).parent
    base = Path(tempfile.mkdtemp(prefix="tm-bench-pg-"))
    as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
    port = free_port()
    data = base / "data"
    subprocess.run(
        [*as_pg, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"],
        check=True,
        capture_output=True,
    )
    opts = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    subprocess.run(
        [*as_pg, str(bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(base / "log"), "-w", "start"],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*as_pg, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
            capture_output=True,
        )
        shutil.rmtree(base, ignore_errors=True)


def new_database(admin_url: str, name: str) -> str:
    import psycopg

    conninfo = "postgresql://" + admin_url.split("://", 1)[1]
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=50, help="latency samples")
    parser.add_argument("--tasks", type=int, default=1000, help="tasks for the throughput run")
    parser.add_argument("--agents", type=int, default=4, help="agents for the throughput run")
    parser.add_argument(
        "--store", choices=["sqlite", "pg", "http", "all"], default="all", help="latency: which store"
    )
    parser.add_argument(
        "--pg", metavar="URL", help="an existing PostgreSQL server (admin URL; databases are created)"
    )
    parser.add_argument("--only", type=int, choices=[1, 2], action="append", help="run only these parts")
    args = parser.parse_args()
    parts = set(args.only or [1, 2])
    homes: list[Path] = []

    def home() -> Path:
        homes.append(Path(tempfile.mkdtemp(prefix="tm-bench-agent-")))
        return homes[-1]

    try:
        if 1 in parts and args.store in ("sqlite", "all"):
            h = home()
            bench_latency(args.n, f"sqlite:///{h / 'store.db'}", h)
        if 1 in parts and args.store in ("http", "all"):
            h = home()
            with loopback_server(h, f"sqlite:///{h / 'store.db'}") as url:
                bench_latency(args.n, url, h)
        needs_pg = (1 in parts and args.store in ("pg", "all")) or 2 in parts
        if needs_pg:
            with contextmanager(lambda: iter([args.pg]))() if args.pg else throwaway_postgres() as admin:
                if 1 in parts and args.store in ("pg", "all"):
                    bench_latency(args.n, new_database(admin, "tm_bench_latency"), home())
                if 2 in parts:
                    bench_throughput(args.tasks, args.agents, new_database(admin, "tm_bench_bulk"), home())
    finally:
        from taskmill.api.session import PROCESS

        PROCESS.reset()
        for h in homes:
            shutil.rmtree(h, ignore_errors=True)


if __name__ == "__main__":
    main()
