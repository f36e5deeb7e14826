"""Remote mode figure: per-step overhead of a 50-step pipeline whose steps go through a queue
to an agent (prints numbers; asserts only that the run completed).

The controller runs here (``start_locally()``: steps on the ``default`` queue), one agent serves
the queue, on SQLite and on PostgreSQL (a throwaway server, or ``--pg URL``). Per-step overhead =
wall time / steps (the steps do nothing).

Usage: python bench/bench_remote.py [--steps 50] [--pg URL] [--store sqlite|pg|all]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_agent import env_for, new_database, throwaway_postgres

TASKMILL = str(Path(sys.executable).parent / "taskmill")

CHAIN = """
import sys, time
from taskmill import PipelineController

def inc(x):
    return x + 1

n = int(sys.argv[1])
pipe = PipelineController(name="remote chain", project="bench")
pipe.set_default_execution_queue("default")
pipe.add_function_step("s0", inc, function_kwargs={"x": 0}, function_return="x")
for i in range(1, n):
    pipe.add_function_step(f"s{i}", inc, function_kwargs={"x": f"${{s{i - 1}.x}}"}, function_return="x")
t = time.perf_counter()
pipe.start_locally(progress=False)
print("ELAPSED", time.perf_counter() - t, pipe.is_successful())
"""


def run_chain(store_url: str, steps: int) -> float:
    home = Path(tempfile.mkdtemp(prefix="tm-bench-remote-"))
    env = env_for(home, store_url)
    subprocess.run([TASKMILL, "queues", "create", "default"], env=env, check=True, capture_output=True)
    agent = subprocess.Popen(
        [TASKMILL, "agent", "--queue", "default"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(2.0)  # let the agent register and start its warm worker
        script = home / "chain.py"
        script.write_text(textwrap.dedent(CHAIN))
        out = subprocess.run(
            [sys.executable, str(script), str(steps)], env=env, capture_output=True, text=True, timeout=600
        )
        line = next(ln for ln in out.stdout.splitlines() if ln.startswith("ELAPSED"))
        _, elapsed, ok = line.split()
        if ok != "True":
            raise SystemExit(f"the run failed:\n{out.stdout}\n{out.stderr}")
        return float(elapsed)
    finally:
        agent.terminate()
        agent.wait(30)
        shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--pg", metavar="URL")
    ap.add_argument("--store", choices=["sqlite", "pg", "all"], default="all")
    args = ap.parse_args()
    if args.store in ("sqlite", "all"):
        home = Path(tempfile.mkdtemp(prefix="tm-bench-remote-db-"))
        elapsed = run_chain(f"sqlite:///{home / 'store.db'}", args.steps)
        print(
            f"SQLite:     {args.steps}-step chain via a queue and an agent: {elapsed:.2f} s, "
            f"{elapsed / args.steps * 1000:.0f} ms per step"
        )
        shutil.rmtree(home, ignore_errors=True)
    if args.store in ("pg", "all"):
        with contextmanager(lambda: iter([args.pg]))() if args.pg else throwaway_postgres() as admin:
            elapsed = run_chain(new_database(admin, "tm_bench_remote"), args.steps)
        print(
            f"PostgreSQL: {args.steps}-step chain via a queue and an agent: {elapsed:.2f} s, "
            f"{elapsed / args.steps * 1000:.0f} ms per step"
        )


if __name__ == "__main__":
    os.environ.pop("TASKMILL_TASK_ID", None)
    main()
