"""Time DAG build/validation and scheduling bookkeeping on 100,000-step pipelines.

Prints figures; asserts nothing (the budget is "well under 5 s", ideally under 1 s per build).
Run with ``python bench/bench_dag.py [steps]``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TypeVar

from taskmill.core.dag import Dag, DagBuilder, DagProgress
from taskmill.errors import CycleError

T = TypeVar("T")


def chain(n: int) -> DagBuilder:
    """s0 <- s1 <- ... <- s(n-1): every step waits for the previous one."""
    builder = DagBuilder()
    builder.add("s0")
    for i in range(1, n):
        builder.add(f"s{i}", (f"s{i - 1}",))
    return builder


def fan(n: int, width: int = 10_000) -> DagBuilder:
    """Layers of ``width`` steps; each layer hangs off one hub and feeds the next hub.

    root -> w0_0..w0_{width-1} -> hub0 -> w1_0.. -> hub1 ...: fan-out and fan-in of ``width``.
    """
    builder = DagBuilder()
    builder.add("root")
    hub, count, layer = "root", 1, 0
    while count < n:
        wide = min(width, n - count - 1) or 1
        names = [f"w{layer}_{i}" for i in range(wide)]
        for name in names:
            builder.add(name, (hub,))
        hub = f"hub{layer}"
        builder.add(hub, names)
        count += wide + 1
        layer += 1
    return builder


def drive(dag: Dag) -> int:
    """Run the whole DAG through DagProgress, completing steps in the order they become ready."""
    progress = DagProgress(dag)
    ready = progress.start()
    steps = 0
    while ready:
        name = ready.pop()
        ready.extend(progress.complete(name))
        steps += 1
    assert progress.finished
    return steps


def fail_root(dag: Dag) -> int:
    """Fail the first root with skip_children: every other step gets skipped in one call."""
    progress = DagProgress(dag)
    root = progress.start()[0]
    return len(progress.fail(root, skip_children=True).skipped)


def closed_chain(n: int) -> str:
    """A chain whose first step also waits for the last: the cycle is the whole DAG."""
    parents = {f"s{i}": [f"s{i - 1}"] for i in range(1, n)}
    parents["s0"] = [f"s{n - 1}"]
    try:
        Dag.from_parents(parents)
    except CycleError as exc:
        return str(exc)[:60]
    raise AssertionError("cycle not detected")


def timed(label: str, fn: Callable[[], T]) -> tuple[T, float]:
    """Run ``fn`` once, print how long it took, return its result and the seconds."""
    start = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - start
    print(f"  {label:<46} {elapsed * 1000:9.1f} ms")
    return result, elapsed


def bench(shape: str, make: Callable[[int], DagBuilder], n: int) -> None:
    """Print the figures for one DAG shape."""
    print(f"== {shape}, {n:,} steps")
    builder, t_add = timed("add() every step", lambda: make(n))
    dag, t_build = timed("build() (parents, cycles, order)", builder.build)
    print(f"  {'add + build':<46} {(t_add + t_build) * 1000:9.1f} ms  ({dag.edge_count:,} links)")
    steps, t_drive = timed("DagProgress: start + complete every step", lambda: drive(dag))
    assert steps == len(dag)
    print(f"  {'  per step':<46} {t_drive / len(dag) * 1e6:9.2f} us")
    skipped, _ = timed("DagProgress: fail a root, skip the rest", lambda: fail_root(dag))
    print(f"  {'  steps skipped':<46} {skipped:9,}")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    bench("chain", chain, n)
    bench("fan-out/fan-in, width 10,000", fan, n)
    print(f"== error path, {n:,} steps")
    timed("cycle through every step -> CycleError", lambda: closed_chain(n))


if __name__ == "__main__":
    main()
