"""Hamilton workloads: a module of generated node functions run by ``driver.Builder()`` (one
process, results in memory)."""

from __future__ import annotations

import os
import sys
import types
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import main
from hamilton import driver


def module_for(workload: str, size: int) -> tuple[types.ModuleType, str]:
    """A module whose functions are the workload's nodes (Hamilton wires them by parameter
    name), and the name of the final node."""
    lines = ["from _common import inc, gather, produce, consume"]
    if workload == "chain":
        lines.append("def s0() -> int:\n    return inc(0)")
        lines += [f"def s{i}(s{i - 1}: int) -> int:\n    return inc(s{i - 1})" for i in range(1, size)]
        final = f"s{size - 1}"
    elif workload == "fanout":
        lines += [f"def f{i}() -> int:\n    return inc({i})" for i in range(size)]
        params = ", ".join(f"f{i}: int" for i in range(size))
        names = ", ".join(f"f{i}" for i in range(size))
        lines.append(f"def total({params}) -> int:\n    return gather([{names}])")
        final = "total"
    else:
        lines.append(f"def arr() -> object:\n    return produce({size})")
        lines.append("def value(arr: object) -> float:\n    return consume(arr)")
        final = "value"
    module = types.ModuleType(f"peers_{workload}")
    exec(compile("\n".join(lines), f"<{workload}>", "exec"), module.__dict__)
    sys.modules[module.__name__] = module  # Hamilton finds a module's functions through it
    return module, final


def run(workload: str, size: int) -> Any:
    module, final = module_for(workload, size)
    dr = driver.Builder().with_modules(module).build()
    return dr.execute([final])[final]


if __name__ == "__main__":
    main({"driver": run})
