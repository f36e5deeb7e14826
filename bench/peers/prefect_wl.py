"""Prefect 3 workloads: a ``@flow`` calling ``@task`` functions, no server configured (Prefect
then starts its own temporary local one, as a first-time user gets). ``flow``: the chain calls
tasks one after another and the fan-out submits them to the default thread-pool task runner."""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import consume, gather, inc, main, produce
from prefect import flow, task

t_inc = task(inc)
t_gather = task(gather)
t_produce = task(produce)
t_consume = task(consume)


@flow(name="peers")
def pipeline(workload: str, size: int) -> float:
    if workload == "chain":
        value = t_inc(0)
        for _ in range(size - 1):
            value = t_inc(value)
        return float(value)
    if workload == "fanout":
        futures = [t_inc.submit(i) for i in range(size)]
        return float(t_gather.submit(futures).result())
    return float(t_consume(t_produce(size)))


if __name__ == "__main__":
    main({"flow": lambda workload, size: pipeline(workload, size)})
