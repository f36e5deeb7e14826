"""Per-step cost of tracked in-process steps, and the 1 GiB in-process hand-off (prints numbers).

1. a 1,000-step chain in debug mode, both APIs (``PipelineController.add_function_step`` +
   ``debug_pipeline()``, ``PipelineDecorator`` + ``debug_pipeline()``): milliseconds per step,
   against the floor of two SQLite commits (what recording one step's start and end costs);
2. a 1 GiB numpy array from a producer step to a consumer step in debug mode: the whole run, and
   the time until the consumer has the array, against the floor of making the array and passing
   it to a plain function call.

Usage: python bench/bench_steps.py [--only 1 2] [--steps 1000] [--gib 1.0] [--repeat 3]
Each measure takes the median of ``--repeat`` runs, each on a fresh TASKMILL_HOME.
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
from typing import Any

from taskmill import PipelineController, PipelineDecorator
from taskmill.api.session import PROCESS


def inc(x: int) -> int:
    return x + 1


def produce(n: int) -> Any:
    import numpy as np

    return np.ones(n, dtype=np.float64)


def consume(arr: Any) -> float:
    os.environ["TM_BENCH_CONSUMED"] = repr(time.perf_counter())
    return float(arr[0] + arr[-1])


@PipelineDecorator.component(return_values=["x"])
def dec_inc(x: int) -> int:
    return x + 1


@PipelineDecorator.pipeline(name="steps chain", project="bench")
def dec_chain(n: int = 1000) -> int:
    value = dec_inc(0)
    for _ in range(n - 1):
        value = dec_inc(value)
    return int(value)


def fresh_home() -> None:
    """A new empty TASKMILL_HOME with its store created (schema creation is not timed)."""
    old = os.environ.get("TASKMILL_HOME", "")
    PROCESS.reset()
    if "tm-bench-steps-" in old:
        shutil.rmtree(old, ignore_errors=True)
    os.environ["TASKMILL_HOME"] = tempfile.mkdtemp(prefix="tm-bench-steps-")
    PROCESS.session().store  # noqa: B018 (opening it creates the schema)


def quiet() -> contextlib.redirect_stdout[io.StringIO]:
    return contextlib.redirect_stdout(io.StringIO())


def controller_chain(n: int) -> float:
    fresh_home()
    p = PipelineController(name="chain", project="bench")
    p.add_function_step("s0", inc, function_kwargs={"x": 0}, function_return="x")
    for i in range(1, n):
        p.add_function_step(f"s{i}", inc, function_kwargs={"x": f"${{s{i - 1}.x}}"}, function_return="x")
    t = time.perf_counter()
    with quiet():
        p.debug_pipeline(progress=False)
    elapsed = time.perf_counter() - t
    assert p.is_successful()
    return elapsed / n * 1000


def decorator_chain(n: int) -> float:
    fresh_home()
    PipelineDecorator.debug_pipeline()
    t = time.perf_counter()
    with quiet():
        assert dec_chain(n) == n
    return (time.perf_counter() - t) / n * 1000


def sqlite_floor(n: int) -> float:
    """Two commits per step (start, end) on a WAL SQLite file: ms per step."""
    folder = tempfile.mkdtemp(prefix="tm-bench-steps-floor-")
    try:
        conn = sqlite3.connect(os.path.join(folder, "f.db"), isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, status TEXT)")
        t = time.perf_counter()
        for i in range(n):
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO t VALUES (?, 'in_progress')", (i,))
            conn.execute("COMMIT")
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("UPDATE t SET status = 'completed' WHERE id = ?", (i,))
            conn.execute("COMMIT")
        elapsed = time.perf_counter() - t
        conn.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return elapsed / n * 1000


def handoff(gib: float) -> tuple[float, float]:
    """(whole debug run, run start -> consumer has the array), in seconds."""
    fresh_home()
    n = int(gib * 2**30 / 8)
    p = PipelineController(name="handoff", project="bench")
    p.add_function_step("produce", produce, function_kwargs={"n": n}, function_return="arr")
    p.add_function_step("consume", consume, function_kwargs={"arr": "${produce.arr}"}, function_return="v")
    t = time.perf_counter()
    with quiet():
        p.debug_pipeline(progress=False)
    total = time.perf_counter() - t
    assert p.is_successful()
    consumed = float(os.environ.pop("TM_BENCH_CONSUMED")) - t
    return total, consumed


def handoff_floor(gib: float) -> float:
    t = time.perf_counter()
    consume(produce(int(gib * 2**30 / 8)))
    os.environ.pop("TM_BENCH_CONSUMED", None)
    return time.perf_counter() - t


def median(fn: Any, repeat: int, *args: Any) -> Any:
    runs = [fn(*args) for _ in range(repeat)]
    if isinstance(runs[0], tuple):
        return tuple(statistics.median(r[i] for r in runs) for i in range(len(runs[0])))
    return statistics.median(runs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--only", type=int, nargs="*", default=[1, 2])
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--gib", type=float, default=1.0)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rows: list[tuple[str, str, str, str]] = []
    if 1 in args.only:
        floor = median(sqlite_floor, args.repeat, args.steps)
        for label, fn in (("controller", controller_chain), ("decorator", decorator_chain)):
            ms = median(fn, args.repeat, args.steps)
            rows.append(
                (
                    f"{args.steps}-step chain, debug, {label}",
                    f"{ms:.3f} ms/step",
                    f"{floor:.3f} ms",
                    f"{ms / floor:.1f}x",
                )
            )
    if 2 in args.only:
        floor = median(handoff_floor, args.repeat, args.gib)
        total, consumed = median(handoff, args.repeat, args.gib)
        rows.append(
            (
                f"{args.gib:g} GiB hand-off, debug: whole run",
                f"{total:.2f} s",
                f"{floor:.2f} s",
                f"{total / floor:.1f}x",
            )
        )
        rows.append(
            (
                f"{args.gib:g} GiB hand-off: consumer has it",
                f"{consumed:.2f} s",
                f"{floor:.2f} s",
                f"{consumed / floor:.1f}x",
            )
        )
    fresh_home()
    shutil.rmtree(os.environ["TASKMILL_HOME"], ignore_errors=True)
    widths = [max(len(r[i]) for r in [("measure", "taskmill", "floor", "ratio"), *rows]) for i in range(4)]
    for row in [("measure", "taskmill", "floor", "ratio"), *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()
