"""What every workload script shares (stdlib only: it runs in each peer's own venv).

A workload script is called as ``python <framework>.py MODE WORKLOAD SIZE``:

* ``chain SIZE``: SIZE steps, each ``inc`` of the previous one's result (the first gets 0);
* ``fanout SIZE``: SIZE independent steps ``inc(i)`` and one ``gather`` step that takes all of
  their results (SIZE + 1 steps);
* ``array SIZE``: a producer step makes a float64 array of SIZE bytes, a consumer step reads one
  value on every 4 KiB page of it (so every page is really touched).

It prints one line ``RESULT {"run": seconds, "check": value}`` last: ``run`` is the timed part
(building and running the pipeline, after imports), ``check`` the pipeline's answer, which the
driver compares with :func:`expected`.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any

PAGE_ITEMS = 4096 // 8  # float64 values per 4 KiB page


def inc(x: int) -> int:
    return x + 1


def gather(values: list[int]) -> int:
    return sum(int(v) for v in values)


def produce(nbytes: int) -> Any:
    import numpy as np

    return np.ones(nbytes // 8, dtype=np.float64)


def consume(arr: Any) -> float:
    return float(arr[::PAGE_ITEMS].sum())


def expected(workload: str, size: int) -> float:
    """The answer a correct run of ``workload`` of ``size`` gives."""
    if workload == "chain":
        return float(size)
    if workload == "fanout":
        return float(size * (size + 1) // 2)
    return float(-(-(size // 8) // PAGE_ITEMS))


def steps(workload: str, size: int) -> int:
    """How many steps the workload has."""
    return {"chain": size, "fanout": size + 1}.get(workload, 2)


def main(runners: dict[str, Callable[[str, int], Any]]) -> None:
    """Run ``runners[MODE](WORKLOAD, SIZE)`` from the command line, timed; print the RESULT line."""
    mode, workload, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode not in runners:
        raise SystemExit(f"unknown mode {mode!r}; known: {sorted(runners)}")
    started = time.perf_counter()
    value = runners[mode](workload, size)
    run = time.perf_counter() - started
    print("RESULT " + json.dumps({"run": run, "check": float(value)}), flush=True)
