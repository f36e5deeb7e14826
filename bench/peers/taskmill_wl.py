"""taskmill workloads, through its ClearML-compatible PipelineDecorator: ``debug`` (steps are
tracked calls in this process), ``local`` (each step in its own process, warm worker) and
``agent`` (the controller runs here, the steps go to the ``peers`` queue served by a
``taskmill agent``; the driver starts that agent and a ``taskmill server`` and points
``TASKMILL_STORE`` at the server)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import main

from taskmill import PipelineDecorator


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


@PipelineDecorator.pipeline(name="peers", project="bench", version="1.0", pipeline_execution_queue=None)
def pipeline(workload: str, size: int) -> Any:
    if workload == "chain":
        value = c_inc(0)
        for _ in range(size - 1):
            value = c_inc(value)
        return float(value)
    if workload == "fanout":
        return float(c_gather([c_inc(i) for i in range(size)]))
    return float(c_consume(c_produce(size)))


def run(mode: str) -> Callable[[str, int], Any]:
    def go(workload: str, size: int) -> Any:
        if mode == "debug":
            PipelineDecorator.debug_pipeline()
        elif mode == "local":
            PipelineDecorator.run_locally()
        else:
            PipelineDecorator.set_default_execution_queue("peers")
        return pipeline(workload, size)

    return go


if __name__ == "__main__":
    main({"debug": run("debug"), "local": run("local"), "agent": run("agent")})
