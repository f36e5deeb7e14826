"""Step functions behind a user's own decorator: named and called as the function they wrap,
with both the wrapper's and the wrapped function's code in the step's source (its cache key)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from taskmill.api.pipeline.functions import function_source, innermost, unwrap


def plus_one(func: Callable[..., int]) -> Callable[..., int]:
    def function_wrapper(*args: Any, **kwargs: Any) -> int:
        return func(*args, **kwargs) + 1

    return function_wrapper


def traced(func: Callable[..., int]) -> Callable[..., int]:
    @functools.wraps(func)
    def inner(*args: Any, **kwargs: Any) -> int:
        return func(*args, **kwargs)

    return inner


@plus_one
def step(x: int, y: int = 2) -> int:
    return x * y


@traced
@plus_one
def twice_wrapped(a: int) -> int:
    return a


def test_a_wrapper_without_wraps_is_seen_through_for_the_name_and_signature() -> None:
    assert step.__name__ == "function_wrapper"
    assert innermost(step).__name__ == "step"
    assert list(inspect.signature(innermost(step)).parameters) == ["x", "y"]
    assert innermost(twice_wrapped).__name__ == "twice_wrapped"
    assert step(3) == 7  # the wrapper still runs


def test_both_the_wrapper_and_the_wrapped_code_are_the_steps_source() -> None:
    source = function_source(step)
    assert "return func(*args, **kwargs) + 1" in source  # editing the wrapper changes the key
    assert "return x * y" in source  # and so does editing the step itself
    assert unwrap(step) is step  # functools.wraps chains only: the wrapper is the outer code


def test_a_closure_over_a_non_function_is_left_alone() -> None:
    factor = 3

    def scaled(x: int) -> int:
        return x * factor

    assert innermost(scaled) is scaled
