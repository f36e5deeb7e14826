"""ClearML 2.x workloads: PipelineDecorator in ``debug`` (``debug_pipeline()``: steps are plain
calls in this process) and ``local`` (``run_locally()``: a sub-process per step) modes, offline
(``CLEARML_OFFLINE_MODE=1``, set by the driver: no server)."""

from __future__ import annotations

import os
import sys
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import main
from clearml import PipelineDecorator


# The same step functions as _common's, defined here: a step in another process (local, agent)
# runs from its function's source, where only this script's own names are known.
def inc(x: int) -> int:
    return x + 1


def gather(values: list[int]) -> int:
    return sum(int(v) for v in values)


def produce(nbytes: int) -> Any:
    import numpy as np

    return np.ones(nbytes // 8, dtype=np.float64)


def consume(arr: Any) -> float:
    return float(arr[:: 4096 // 8].sum())  # one value per 4 KiB page, as _common.consume


c_inc = PipelineDecorator.component(return_values=["x"], cache=False)(inc)
c_gather = PipelineDecorator.component(return_values=["total"], cache=False)(gather)
c_produce = PipelineDecorator.component(return_values=["arr"], cache=False)(produce)
c_consume = PipelineDecorator.component(return_values=["value"], cache=False)(consume)


@PipelineDecorator.pipeline(name="peers", project="bench", version="1.0")
def pipeline(workload: str, size: int) -> Any:
    if workload == "chain":
        value = c_inc(0)
        for _ in range(size - 1):
            value = c_inc(value)
        return float(value)
    if workload == "fanout":
        return float(c_gather([c_inc(i) for i in range(size)]))
    return float(c_consume(c_produce(size)))


def run(mode: str) -> Any:
    def go(workload: str, size: int) -> Any:
        if mode == "debug":
            PipelineDecorator.debug_pipeline()
        else:
            PipelineDecorator.run_locally()
        return pipeline(workload, size)

    return go


if __name__ == "__main__":
    main({"debug": run("debug"), "local": run("local")})
