"""Scale figures: costs that must not grow with the number of steps or the store's history.

Prints one table (asserts nothing):

1. a fan-out of N steps (root -> N workers -> join) in debug (in-process) mode, for each N of
   ``--debug-n`` (default 1,000 and 10,000; add 100,000 with ``--big``): wall and per-step cost.
   Linear growth shows as a constant per-step cost.
2. the same fan-out with one local process per step (``start_locally``) for ``--local-n``.
3. run start against store history: a 10-step chain in debug mode on a fresh store, and on
   stores holding ``--history`` stored tasks (default 100,000 and 1,000,000), created in bulk
   with SQL (not through the API, which would take hours). Median of ``--repeat`` runs.

Usage: python bench/bench_scale.py [--debug-n 1000 10000] [--big] [--local-n 10000]
       [--history 100000 1000000] [--repeat 5] [--only fanout local history]
Each measurement uses a fresh TASKMILL_HOME in a temporary folder.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable


def noop() -> int:
    return 0


def inc(x: int) -> int:
    return x + 1


def gather(*values: int) -> int:
    return len(values)


def fresh_home() -> str:
    """A new empty TASKMILL_HOME with its store created (outside any timing); returns the store path."""
    from taskmill.api.session import PROCESS

    old = os.environ.get("TASKMILL_HOME", "")
    PROCESS.reset()
    if old.startswith(tempfile.gettempdir()) and "tm-scale-" in old:
        shutil.rmtree(old, ignore_errors=True)
    os.environ["TASKMILL_HOME"] = tempfile.mkdtemp(prefix="tm-scale-")
    store = PROCESS.session().store
    url = str(getattr(store, "url", ""))
    return url[len("sqlite:///") :] if url.startswith("sqlite:///") else ""


def fanout(n: int, mode: str) -> tuple[float, float]:
    """Wall and CPU seconds (this process, all threads) to run root -> n workers -> join in
    ``mode`` (``debug`` or ``local``). On a shared machine the CPU figure is the steadier one."""
    from taskmill import PipelineController

    fresh_home()
    p = PipelineController(name=f"fan{n}", project="bench")
    p.add_function_step("root", noop, function_return="r")
    for i in range(n):
        p.add_function_step(f"w{i}", inc, function_kwargs={"x": "${root.r}"}, function_return="x")
    p.add_function_step("join", gather, parents=[f"w{i}" for i in range(n)], function_return="n")
    t, cpu = time.perf_counter(), time.process_time()
    if mode == "debug":
        p.debug_pipeline(progress=False)
    else:
        p.start_locally(run_pipeline_steps_locally=True, progress=False)
    elapsed, cpu = time.perf_counter() - t, time.process_time() - cpu
    assert p.is_successful(), f"the {n}-step fan-out failed"
    return elapsed, cpu


def chain10(cache: bool = False, seed: int = 0) -> float:
    """Seconds to build and run a 10-step chain in debug mode against the current store.

    ``cache=True`` turns step caching on (with a new ``seed`` each run, so every step misses and
    the store is asked for earlier runs of the same step to explain the miss).
    """
    from taskmill import PipelineController

    t = time.perf_counter()
    p = PipelineController(name="chain10", project="bench")
    p.add_function_step(
        "s0", inc, function_kwargs={"x": seed}, function_return="x", cache_executed_step=cache
    )
    for i in range(1, 10):
        p.add_function_step(
            f"s{i}",
            inc,
            function_kwargs={"x": f"${{s{i - 1}.x}}"},
            function_return="x",
            cache_executed_step=cache,
        )
    p.debug_pipeline(progress=False)
    elapsed = time.perf_counter() - t
    assert p.is_successful()
    return elapsed


def first_page() -> float:
    """Seconds for the task list's first page (the newest 101 tasks, what the UI asks for)."""
    from taskmill.api.session import PROCESS
    from taskmill.store.base import TaskFilter

    store = PROCESS.session().store
    t = time.perf_counter()
    found = store.find_tasks(TaskFilter(limit=101))
    elapsed = time.perf_counter() - t
    assert len(found) <= 101
    return elapsed


def fill(path: str, n: int) -> float:
    """Insert ``n`` completed tasks into the SQLite store at ``path`` in bulk; returns seconds.

    They look like the history a real store grows: runs of about a thousand pipelines (one in
    eleven tasks a controller, the others its ten steps, with cache keys) in their hidden projects,
    about a hundred runs each. One of those pipelines is the ``chain10`` the run-start figures
    run, so its steps' lookups of their earlier runs have about a hundred runs to go through.
    """
    t = time.perf_counter()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("BEGIN")
    now = time.time() - 86400
    pipelines = max(1, n // 1100)
    names = ["chain10"] + [f"pipe{k}" for k in range(1, pipelines)]
    homes = ["bench" if k % 3 == 0 else f"other{k % 7}" for k in range(pipelines)]
    hidden = [f"{home}/.pipelines/{name}" for home, name in zip(homes, names, strict=True)]
    conn.executemany(
        "INSERT OR IGNORE INTO projects (name, created, system_tags) VALUES (?, ?, ?)",
        [(p, now, "[]") for p in {*homes}] + [(p, now, '["hidden"]') for p in hidden],
    )
    batch = 50_000
    controller = ""
    for start in range(0, n, batch):
        rows: list[tuple[object, ...]] = []
        for i in range(start, min(n, start + batch)):
            run, step = divmod(i, 11)
            k = run % pipelines
            task_id = uuid.uuid4().hex
            when = now + i * 0.01
            if step == 0:
                controller = task_id
                row: tuple[str, str, str, str, str | None] = (
                    task_id,
                    f"{names[k]} #{run // pipelines + 1}",
                    hidden[k],
                    "controller",
                    None,
                )
                tags, key = '["pipeline"]', ""
            else:
                row = (task_id, f"s{step - 1}", hidden[k], "data_processing", controller)
                tags, key = "[]", uuid.uuid4().hex
            rows.append((*row, "completed", "[]", tags, when, when, when + 0.005, when + 0.005, key))
        conn.executemany(
            "INSERT INTO tasks (id, name, project, task_type, parent, status, tags, system_tags, "
            "created, started, completed, last_update, cache_key) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    conn.execute("COMMIT")
    conn.close()
    return time.perf_counter() - t


def median(values: list[float]) -> float:
    return statistics.median(values)


def quiet_pair(fn: Callable[..., tuple[float, float]], *args: object) -> tuple[float, float]:
    """:func:`quiet` for a function returning two figures."""
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        return fn(*args)


def quiet(fn: Callable[..., float], *args: object) -> float:
    """``fn(*args)`` with the pipeline's console lines (one per step) kept off the terminal."""
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        return fn(*args)


def use_home(home: str) -> None:
    """Point this process at the TASKMILL_HOME ``home`` (its store reopened on next use)."""
    from taskmill.api.session import PROCESS

    PROCESS.reset()
    os.environ["TASKMILL_HOME"] = home


def history(sizes: list[int], repeat: int, row: Callable[[str, str, str], None]) -> None:
    """Run-start figures on a fresh store and on stores of ``sizes`` tasks.

    The machine is shared, so the stores take turns (fresh, loaded, fresh, ...) and each
    figure is a median over ``repeat`` turns: a load spike then hits both sides alike.
    """
    seeds = iter(range(1, 1_000_000))

    def sample() -> tuple[float, float, float]:
        quiet(chain10)  # the first run after opening warms the store's connections
        return quiet(chain10), quiet(chain10, True, next(seeds)), first_page()

    what = ("10-step run", "10-step run, cache on (misses)", "task list first page (101)")
    for n in sizes:
        fresh_home()
        fresh = os.environ["TASKMILL_HOME"]
        path = fresh_home()
        if not path:
            row(f"{n:,} stored tasks", "n/a", "needs a SQLite store")
            continue
        loaded = os.environ["TASKMILL_HOME"]
        filled = fill(path, n)
        print(f"  ({n:,} tasks inserted in {filled:.0f} s)", flush=True)
        turns: dict[str, list[tuple[float, float, float]]] = {fresh: [], loaded: []}
        for _ in range(repeat):
            for home, samples in turns.items():
                use_home(home)
                samples.append(sample())
        for i, label in enumerate(what):
            at_fresh = median([s[i] for s in turns[fresh]])
            at_n = median([s[i] for s in turns[loaded]])
            row(f"{label}, fresh store", f"{at_fresh * 1000:.1f} ms", f"median of {repeat}, paired")
            row(
                f"{label}, {n:,} stored tasks",
                f"{at_n * 1000:.1f} ms",
                f"{(at_n / at_fresh - 1) * 100:+.0f}% vs fresh",
            )
        use_home(fresh)
        shutil.rmtree(fresh, ignore_errors=True)
        use_home(loaded)  # removed by the next fresh_home()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--debug-n", type=int, nargs="*", default=[1000, 10_000])
    ap.add_argument("--big", action="store_true", help="also a 100,000-step fan-out in debug mode")
    ap.add_argument("--local-n", type=int, nargs="*", default=[10_000])
    ap.add_argument("--history", type=int, nargs="*", default=[100_000, 1_000_000])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--only", nargs="*", default=["fanout", "local", "history"])
    args = ap.parse_args()
    table: list[tuple[str, str, str]] = []

    def row(label: str, value: str, note: str = "") -> None:
        table.append((label, value, note))
        print(f"  {label:<44} {value:>12}  {note}", flush=True)

    print("measuring (the machine may be shared: figures are noisy)", flush=True)
    if "fanout" in args.only:
        sizes = list(args.debug_n) + ([100_000] if args.big else [])
        for n in sizes:
            wall, cpu = quiet_pair(fanout, n, "debug")
            row(
                f"fan-out {n:,} steps, debug",
                f"{wall:.2f} s",
                f"{wall / (n + 2) * 1000:.3f} ms/step; CPU {cpu:.2f} s, {cpu / (n + 2) * 1000:.3f} ms/step",
            )
    if "local" in args.only:
        for n in args.local_n:
            wall, cpu = quiet_pair(fanout, n, "local")
            row(
                f"fan-out {n:,} steps, local",
                f"{wall:.2f} s",
                f"{wall / (n + 2) * 1000:.2f} ms/step; controller CPU {cpu:.2f} s",
            )
    if "history" in args.only:
        history(args.history, args.repeat, row)
    fresh_home()
    print("\n| measure | value | note |\n|---|---|---|")
    for label, value, note in table:
        print(f"| {label} | {value} | {note} |")


if __name__ == "__main__":
    main()
