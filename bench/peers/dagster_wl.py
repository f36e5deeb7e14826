"""Dagster workloads: a job of generated ops run with ``execute_in_process`` (one process,
in-memory IO manager, ephemeral instance)."""

from __future__ import annotations

import os
import sys
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import consume, gather, inc, main, produce
from dagster import graph, op


def make_job(workload: str, size: int) -> Any:
    if workload == "chain":
        first = op(name="s0")(lambda: inc(0))
        steps = [op(name=f"s{i}")(lambda x: inc(x)) for i in range(1, size)]

        @graph(name="chain")
        def chain() -> Any:
            value = first()
            for step in steps:
                value = step(value)
            return value

        return chain.to_job(), f"s{size - 1}"
    if workload == "fanout":
        leaves = [op(name=f"f{i}")(lambda i=i: inc(i)) for i in range(size)]
        total = op(name="total")(lambda values: gather(values))

        @graph(name="fanout")
        def fanout() -> Any:
            return total([leaf() for leaf in leaves])

        return fanout.to_job(), "total"
    make = op(name="arr")(lambda: produce(size))
    use = op(name="value")(lambda arr: consume(arr))

    @graph(name="array")
    def array() -> Any:
        return use(make())

    return array.to_job(), "value"


def run(workload: str, size: int) -> Any:
    job, final = make_job(workload, size)
    result = job.execute_in_process()
    return result.output_for_node(final)


if __name__ == "__main__":
    main({"in_process": run})
