"""Time a trivial step through the fork server against a cold interpreter per step.

Prints median and p95 latency from launch to reported exit, for a chain of N sequential steps and
for N concurrent steps, then the same with ``subprocess.run([python, "-c", "import taskmill"])``.
Then a chain of 10 steps whose function imports a heavy module itself (``TM_BENCH_HEAVY``,
default ``sklearn.linear_model``), with the server learning what steps import and without.
Asserts nothing (the budget is <= 50 ms per step end-to-end, ideally 5-10 ms of overhead).
Run with ``python bench/bench_forkserver.py [steps] [extra preload modules, comma-separated]``.
"""

from __future__ import annotations

import importlib
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from taskmill.engine.forkserver import ForkServer

COLD = [sys.executable, "-c", "import taskmill"]
HEAVY = os.environ.get("TM_BENCH_HEAVY", "sklearn.linear_model")


def trivial() -> None:
    """The step: does nothing (run in the fork server's child)."""


def heavy() -> None:
    """The step: imports a heavy library inside the function, as ML steps do."""
    importlib.import_module(HEAVY)


class Clock:
    """``on_exit`` callback recording when each key exited."""

    def __init__(self) -> None:
        self.exited: dict[str, float] = {}
        self.codes: dict[str, int] = {}
        self._cond = threading.Condition()

    def __call__(self, key: str, returncode: int) -> None:
        now = time.perf_counter()
        with self._cond:
            self.exited[key], self.codes[key] = now, returncode
            self._cond.notify_all()

    def wait(self, keys: list[str]) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: all(k in self.exited for k in keys), 30):
                raise RuntimeError("steps did not report their exit within 30 s")


def report(label: str, seconds: list[float]) -> None:
    ms = sorted(s * 1000 for s in seconds)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    print(f"  {label:<44} median {statistics.median(ms):7.2f} ms   p95 {p95:7.2f} ms   (n={len(ms)})")


def warm(n: int, preload: tuple[str, ...]) -> None:
    clock = Clock()
    started = time.perf_counter()
    here = str(Path(__file__).resolve().parent)
    with ForkServer(preload=(*preload, "bench_forkserver"), sys_path=[here], on_exit=clock) as server:
        print(f"fork server (preload={list(preload)}): started in {time.perf_counter() - started:.3f} s")
        target = "bench_forkserver:trivial"
        chain, submits = [], []
        for i in range(n):
            key = f"chain{i}"
            t0 = time.perf_counter()
            server.submit(key, target)
            submits.append(time.perf_counter() - t0)
            clock.wait([key])
            chain.append(clock.exited[key] - t0)
        report(f"warm chain of {n}: submit() returns", submits)
        report(f"warm chain of {n}: submit -> on_exit", chain)
        launched: dict[str, float] = {}
        t_all = time.perf_counter()
        for i in range(n):
            launched[f"par{i}"] = time.perf_counter()
            server.submit(f"par{i}", target)
        clock.wait(list(launched))
        report(f"warm {n} concurrent: submit -> on_exit", [clock.exited[k] - t for k, t in launched.items()])
        print(f"  warm {n} concurrent: all done in {(max(clock.exited.values()) - t_all) * 1000:.1f} ms")
        assert set(clock.codes.values()) == {0}, clock.codes


def heavy_chain(n: int, learn: bool) -> None:
    clock = Clock()
    here = str(Path(__file__).resolve().parent)
    with ForkServer(
        preload=("taskmill", "bench_forkserver"), sys_path=[here], on_exit=clock, learn=learn
    ) as server:
        chain = []
        t_all = time.perf_counter()
        for i in range(n):
            key = f"heavy{i}"
            t0 = time.perf_counter()
            server.submit(key, "bench_forkserver:heavy")
            clock.wait([key])
            chain.append(clock.exited[key] - t0)
        total = time.perf_counter() - t_all
        assert set(clock.codes.values()) == {0}, clock.codes
    report(f"{HEAVY} chain of {n}, learn={learn}", chain)
    print(f"  {HEAVY} chain of {n}, learn={learn}: {total:.2f} s in all, {total / n:.3f} s per step")


def cold(n: int) -> None:
    chain = []
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run(COLD, check=True)
        chain.append(time.perf_counter() - t0)
    report(f"cold chain of {n}: subprocess.run", chain)
    t_all = time.perf_counter()
    procs = [(time.perf_counter(), subprocess.Popen(COLD)) for _ in range(n)]
    done = []
    for t0, proc in procs:  # waiting in launch order overstates late exits a little; fine here
        proc.wait()
        done.append(time.perf_counter() - t0)
    report(f"cold {n} concurrent: Popen -> wait", done)
    print(f"  cold {n} concurrent: all done in {(time.perf_counter() - t_all) * 1000:.1f} ms")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    extra = tuple(m for m in (sys.argv[2] if len(sys.argv) > 2 else "").split(",") if m)
    warm(n, ("taskmill", *extra))
    cold(n)
    for learn in (False, True):
        heavy_chain(10, learn)


if __name__ == "__main__":
    main()
