"""Pipeline engine figures (prints numbers; asserts nothing).

1. per-step overhead, tracked, in-process (debug mode), on a 1,000-step chain;
2. per-step overhead in local sub-process mode on a 50-step chain;
3. a 10,000-step fan-out/fan-in in-process;
4. building and validating a 100,000-step DAG;
5. handing a 1 GiB numpy array between two local steps (sub-process mode).

Usage: python bench/bench_pipeline.py [--only N ...] [--gib 1.0]
Each benchmark uses a fresh TASKMILL_HOME in a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from typing import Any


def inc(x: int) -> int:
    return x + 1


def noop() -> int:
    return 0


def gather(*values: int) -> int:
    return len(values)


def produce(n: int) -> Any:
    import numpy as np

    arr = np.ones(n, dtype=np.float64)
    return arr


def consume(arr: Any) -> float:
    # what the consumer sees: a memory-mapped, read-only array (no copy was made)
    return float(arr[0] + arr[-1])


def fresh_home() -> float:
    """A new empty TASKMILL_HOME with its store created; returns the seconds the creation took.

    The store is created here, outside the timed parts: a new store's schema is made once in
    its life (Alembic, ~0.3 s), which is not a per-step cost.
    """
    from taskmill.api.session import PROCESS

    old = os.environ.get("TASKMILL_HOME", "")
    PROCESS.reset()
    if old.startswith(tempfile.gettempdir()) and "tm-bench-" in old:
        shutil.rmtree(old, ignore_errors=True)  # benchmarks leave no GiB-sized leftovers
    os.environ["TASKMILL_HOME"] = tempfile.mkdtemp(prefix="tm-bench-")
    t = time.perf_counter()
    PROCESS.session().store  # noqa: B018 (opening it creates the schema)
    return time.perf_counter() - t


def chain(n: int, mode: str) -> tuple[float, Any]:
    from taskmill import PipelineController

    created = fresh_home()
    print(f"   (a new store: schema created in {created * 1000:.0f} ms, once per store, not timed)")
    p = PipelineController(name=f"chain{n}", project="bench")
    p.add_function_step("s0", inc, function_kwargs={"x": 0}, function_return="x")
    for i in range(1, n):
        p.add_function_step(f"s{i}", inc, function_kwargs={"x": f"${{s{i - 1}.x}}"}, function_return="x")
    t = time.perf_counter()
    if mode == "debug":
        p.debug_pipeline(progress=False)
    else:
        p.start_locally(run_pipeline_steps_locally=True, progress=False)
    elapsed = time.perf_counter() - t
    assert p.is_successful()
    return elapsed, p


def bench_chain_inprocess() -> None:
    elapsed, _ = chain(1000, "debug")
    print(f"1. 1,000-step chain in-process: {elapsed:.2f} s total, {elapsed / 1000 * 1000:.2f} ms per step")


def bench_chain_process() -> None:
    elapsed, _ = chain(50, "process")
    print(
        f"2. 50-step chain, one process per step: {elapsed:.2f} s total, "
        f"{elapsed / 50 * 1000:.1f} ms per step"
    )


def bench_fanout() -> None:
    from taskmill import PipelineController

    fresh_home()
    n = 10_000
    p = PipelineController(name="fan", project="bench")
    p.add_function_step("root", noop, function_return="r")
    for i in range(n):
        p.add_function_step(f"w{i}", inc, function_kwargs={"x": "${root.r}"}, function_return="x")
    p.add_function_step("join", gather, parents=[f"w{i}" for i in range(n)], function_return="n")
    t = time.perf_counter()
    p.debug_pipeline(progress=False)
    elapsed = time.perf_counter() - t
    assert p.is_successful()
    print(
        f"3. 10,000-step fan-out/fan-in in-process: {elapsed:.1f} s "
        f"({elapsed / (n + 2) * 1000:.2f} ms per step)"
    )


def bench_build() -> None:
    from taskmill import PipelineController
    from taskmill.api.pipeline.definition import verify_pipeline
    from taskmill.api.session import PROCESS

    fresh_home()
    n = 100_000
    t = time.perf_counter()
    p = PipelineController(name="big", project="bench")
    p.add_function_step("s0", inc, function_kwargs={"x": 0}, function_return="x")
    for i in range(1, n):
        p.add_function_step(f"s{i}", inc, function_kwargs={"x": f"${{s{i - 1}.x}}"}, function_return="x")
    built = time.perf_counter() - t
    t = time.perf_counter()
    verify_pipeline(p._nodes, p._params, PROCESS.session().store)
    verified = time.perf_counter() - t
    print(
        f"4. 100,000-step DAG: add_function_step x100k {built:.2f} s + validate {verified:.2f} s "
        f"= {built + verified:.2f} s"
    )


def bench_handoff(gib: float) -> None:
    from taskmill import PipelineController, Task

    fresh_home()
    n = int(gib * 2**30 / 8)
    p = PipelineController(name="handoff", project="bench")
    p.add_function_step("produce", produce, function_kwargs={"n": n}, function_return="arr")
    p.add_function_step("consume", consume, function_kwargs={"arr": "${produce.arr}"}, function_return="v")
    t = time.perf_counter()
    p.start_locally(run_pipeline_steps_locally=True, progress=False)
    total = time.perf_counter() - t
    assert p.is_successful()
    dag = p.get_pipeline_dag()
    prod = Task.get_task(task_id=dag["produce"].job_id)
    cons = Task.get_task(task_id=dag["consume"].job_id)
    art = prod.artifacts["arr"]
    import numpy  # noqa: F401 - imported by the consumer's process before the hand-off too

    Task.get_task(task_id=dag["consume"].job_id).artifacts  # noqa: B018 - warm the artifact layer
    # the hand-off itself: what the consumer does to get the producer's array (memory-mapped read)
    t = time.perf_counter()
    arr = art.get()
    load_ms = (time.perf_counter() - t) * 1000
    gap = (cons.data.started or 0) - (prod.data.completed or 0)
    print(
        f"5. {gib:g} GiB numpy between two local steps: load in the consumer {load_ms:.2f} ms "
        f"(memory-mapped, {type(arr).__name__}); producer-completed -> consumer-started {gap * 1000:.0f} ms; "
        f"whole run {total:.1f} s (of which writing {art.size / 2**30:.2f} GiB to disk is the "
        "producer's cost)"
    )


BENCHES: dict[int, Callable[..., None]] = {
    1: bench_chain_inprocess,
    2: bench_chain_process,
    3: bench_fanout,
    4: bench_build,
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--only", type=int, nargs="*", default=[1, 2, 3, 4, 5])
    ap.add_argument("--gib", type=float, default=1.0)
    args = ap.parse_args()
    for number in args.only:
        if number == 5:
            bench_handoff(args.gib)
        else:
            BENCHES[number]()
    fresh_home()  # removes the last temporary home


if __name__ == "__main__":
    main()
