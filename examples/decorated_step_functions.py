"""Components wrapped by your own decorators still work (ClearML's decorated_pipeline_step_* examples).

``@PipelineDecorator.component`` sits on top of a user decorator; the step records the inner
function's code, and the user decorator still runs around every call. The same function is also
used as an ``add_function_step`` step of a PipelineController.

    .venv/bin/python examples/decorated_step_functions.py [--mode process|debug]
"""

from __future__ import annotations

import argparse
import functools
import time
from collections.abc import Callable
from typing import Any

from taskmill import PipelineController, PipelineDecorator


def timed(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A user decorator: prints how long the call took."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        result = fn(*args, **kwargs)
        print(f"{fn.__name__} took {time.perf_counter() - start:.4f} s")
        return result

    return wrapper


@timed
def make_squares(n: int) -> list[int]:
    return [i * i for i in range(n)]


@PipelineDecorator.component(return_values=["total"])
@timed
def add_up(values: list[int]) -> int:
    return sum(values)


squares_component = PipelineDecorator.component(return_values=["squares"])(make_squares)


@PipelineDecorator.pipeline(name="decorated steps", project="examples")
def decorated(n: int = 10) -> int:
    return int(add_up(squares_component(n)))


def controller_version(mode: str) -> None:
    pipe = PipelineController(name="decorated function step", project="examples")
    pipe.add_function_step("squares", make_squares, function_kwargs={"n": 10}, function_return="step_return")
    pipe.add_function_step(
        "total",
        add_up.function,
        function_kwargs={"values": "${squares.step_return}"},
        function_return="total",
    )
    if mode == "debug":
        pipe.debug_pipeline()
    else:
        pipe.start_locally(run_pipeline_steps_locally=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=["process", "debug", "remote"], default="process")
    mode = parser.parse_args().mode
    if mode == "debug":
        PipelineDecorator.debug_pipeline()
    elif mode == "remote":  # the run goes to the 'services' queue, its steps to 'default'
        PipelineDecorator.set_default_execution_queue("default")
    else:
        PipelineDecorator.run_locally()
    print("decorator pipeline result:", decorated())
    controller_version(mode)
