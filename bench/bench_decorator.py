"""PipelineDecorator figures (prints numbers; asserts nothing).

1. a 1,000-component chain in debug_pipeline(): overhead per step;
2. 50 independent chains of 3 components that each sleep 0.2 s (``for x in range(50): c(b(a(x)))``)
   under run_locally() with the default concurrency. With ClearML's blocking semantics (passing a
   lazy value to a component waits for its producer, in program order) the chains run one after
   another.

Usage: python bench/bench_decorator.py [--only 1 2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time

from taskmill import PipelineDecorator
from taskmill.api.session import PROCESS


@PipelineDecorator.component(return_values=["x"])
def inc(x: int) -> int:
    return x + 1


@PipelineDecorator.pipeline(name="decorator chain", project="bench")
def chain(n: int = 1000) -> int:
    value = inc(0)
    for _ in range(n - 1):
        value = inc(value)
    return int(value)


@PipelineDecorator.component(return_values=["x"])
def a(x: int) -> int:
    time.sleep(0.2)
    return x


@PipelineDecorator.component(return_values=["x"])
def b(x: int) -> int:
    time.sleep(0.2)
    return x + 1


@PipelineDecorator.component(return_values=["x"])
def c(x: int) -> int:
    time.sleep(0.2)
    return x * 2


@PipelineDecorator.pipeline(name="fifty chains", project="bench")
def fifty(count: int = 50) -> list[int]:
    outs = [c(b(a(x))) for x in range(count)]
    return [int(o) for o in outs]


def fresh_home() -> str:
    """A new empty TASKMILL_HOME with its store already created.

    A new store's schema is made once in its life (Alembic, ~0.3 s), which is not a per-step cost,
    so it happens here, before the timed part.
    """
    PROCESS.reset()
    home = tempfile.mkdtemp(prefix="tm-bench-")
    os.environ["TASKMILL_HOME"] = home
    PROCESS.session().store  # noqa: B018 (opening it creates the schema)
    return home


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--only", type=int, nargs="*", default=[1, 2])
    args = ap.parse_args()
    if 1 in args.only:
        home = fresh_home()
        PipelineDecorator.debug_pipeline()
        t = time.perf_counter()
        result = chain(1000)
        elapsed = time.perf_counter() - t
        assert result == 1000
        print(
            f"1. 1,000-component chain, debug_pipeline(): {elapsed:.2f} s, {elapsed:.2f} ms per step "
            "(1,000 steps: seconds = milliseconds per step)"
        )
        shutil.rmtree(home, ignore_errors=True)
    if 2 in args.only:
        home = fresh_home()
        PipelineDecorator.run_locally()
        t = time.perf_counter()
        result2 = fifty(50)
        elapsed = time.perf_counter() - t
        assert result2 == [2 * (x + 1) for x in range(50)]
        print(
            f"2. 50 chains x 3 components x 0.2 s, run_locally(): {elapsed:.2f} s "
            "(3 x 0.2 s = 0.6 s is the floor; fully serial would be 30 s)"
        )
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
