"""Decorated components and pipelines for the decorator tests (importable in every mode)."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from taskmill import PipelineDecorator


@PipelineDecorator.component(return_values=["data"], cache=True)
def load(n: int) -> list[int]:
    return list(range(n))


@PipelineDecorator.component(return_values=["low", "high"])
def halves(data: list[int]) -> tuple[list[int], list[int]]:
    return data[: len(data) // 2], data[len(data) // 2 :]


@PipelineDecorator.component
def total(values: list[int]) -> int:
    return sum(values)


@PipelineDecorator.component(return_values=["merged"])
def merge(parts: list[Any], extra: dict[str, Any]) -> dict[str, Any]:
    return {"parts": parts, "extra": extra}


@PipelineDecorator.component(return_values=["ok"])
def check(value: int) -> bool:
    return value > 3


@PipelineDecorator.component(return_values=["y"])
def slow_id(x: int, delay: float = 0.3) -> dict[str, float]:
    start = time.time()
    time.sleep(delay)
    return {"x": x, "start": start, "end": time.time()}


@PipelineDecorator.component(return_values=["y"])
def explode(x: int) -> int:
    raise ValueError(f"cannot handle {x}")


@PipelineDecorator.component(return_values=["y"], continue_on_fail=True)
def tolerated(x: int) -> int:
    raise ValueError("tolerated failure")


def logged(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A user decorator under @component (ClearML example: decorated_pipeline_step_decorators)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        print(f"calling {fn.__name__}")
        return fn(*args, **kwargs)

    return wrapper


@PipelineDecorator.component(return_values=["out"])
@logged
def doubled(x: int) -> int:
    return 2 * x


@PipelineDecorator.component(return_values=["inner"])
def outer_step(x: int) -> int:
    return int(doubled(x)) + 1  # a component called inside a component: its own step


@PipelineDecorator.component(return_values=["count"])
def flaky(marker: str) -> int:
    calls = Path(marker + ".calls")
    calls.write_text(str(int(calls.read_text()) + 1 if calls.exists() else 1))
    if not Path(marker).exists():
        raise RuntimeError("marker missing")
    return int(calls.read_text())


@PipelineDecorator.pipeline(name="decorated", project="tests", return_value="result")
def simple(n: int = 6) -> int:
    data = load(n)
    low, high = halves(data)
    return int(total(low)) + int(total(high))


@PipelineDecorator.pipeline(name="conditional", project="tests")
def conditional(n: int = 5) -> Any:
    data = load(n)
    s = total(data)
    if check(s):  # evaluated in the pipeline: the next step becomes a child of check
        return merge([s, load(2)], {"first": data})
    return None


@PipelineDecorator.pipeline(name="concurrent chains", project="tests")
def chains(count: int = 4) -> list[Any]:
    return [slow_id(slow_id(x)) for x in range(count)]


@PipelineDecorator.pipeline(name="failing", project="tests")
def failing() -> Any:
    bad = explode(1)
    ok = total([1, 2])
    after = total(bad)  # a child of the failed step: skipped
    tolerated(1)
    return ok, after


@PipelineDecorator.pipeline(name="uses failed value", project="tests")
def uses_failed_value() -> Any:
    bad = explode(2)
    return bad + 1


@PipelineDecorator.pipeline(name="nested", project="tests")
def nested_components(x: int = 3) -> int:
    return int(outer_step(x))


@PipelineDecorator.pipeline(name="resumable decorated", project="tests")
def resumable(marker: str, n: int = 3) -> int:
    data = load(n)
    t = total(data)
    before = int(t)  # used first: completed before flaky fails
    return before + int(flaky(marker))


@PipelineDecorator.pipeline(name="inner run", project="tests")
def inner_pipeline(n: int = 3) -> int:
    return int(total(load(n)))


@PipelineDecorator.pipeline(name="outer run", project="tests")
def outer_pipeline(n: int = 4) -> int:
    first = int(total([n, n]))
    return first + inner_pipeline(n)  # a pipeline called from a pipeline: a nested run
