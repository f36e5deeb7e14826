"""The floor: the same workloads as plain Python, ``call`` (each step a function call) and ``fork``
(each step in a forked child that sends its result back through a pipe, pickled; the array
goes through an ``np.save`` file in a temporary folder, read back memory-mapped)."""

from __future__ import annotations

import os
import pickle
import sys
import tempfile
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import consume, gather, inc, main, produce


def in_child(func: Callable[..., Any], *args: Any) -> Any:
    """``func(*args)`` in a forked child; its pickled result comes back through a pipe."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        with os.fdopen(write, "wb") as out:
            pickle.dump(func(*args), out)
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as inp:
        value = pickle.load(inp)
    os.waitpid(pid, 0)
    return value


def save_array(nbytes: int, path: str) -> str:
    import numpy as np

    np.save(path, produce(nbytes))
    return path


def load_and_consume(path: str) -> float:
    import numpy as np

    return consume(np.load(path, mmap_mode="r"))


def run(mode: str) -> Callable[[str, int], Any]:
    def step(func: Callable[..., Any], *args: Any) -> Any:
        return func(*args) if mode == "call" else in_child(func, *args)

    def go(workload: str, size: int) -> Any:
        if workload == "chain":
            value = 0
            for _ in range(size):
                value = step(inc, value)
            return value
        if workload == "fanout":
            return step(gather, [step(inc, i) for i in range(size)])
        if mode == "call":
            return consume(produce(size))
        with tempfile.TemporaryDirectory(prefix="tm-bench-floor-") as tmp:
            return step(load_and_consume, step(save_array, size, os.path.join(tmp, "a.npy")))

    return go


if __name__ == "__main__":
    main({"call": run("call"), "fork": run("fork")})
