"""``LazyValue``: what calling a decorated component returns, right away.

A lazy value stands for one return value of one step. Passing it to another component does
**not** wait: the consumer becomes a child of the producer and starts the moment the producer
completes (ClearML blocks the pipeline function here). Using it in Python (printing, arithmetic,
``bool``, attributes, indexing, comparison, iteration, ``numpy.asarray`` ...) waits for the step
and loads the object once; a failed step raises :class:`~taskmill.errors.StepFailedError` naming
the step and its task.
"""

from __future__ import annotations

import operator
import threading
from collections.abc import Callable
from typing import Any, Protocol

from taskmill.errors import StepFailedError


class OutputSource(Protocol):
    """Where a lazy value loads its object from once its step finished (the running pipeline)."""

    def load_output(self, step: str, name: str) -> Any:
        """Output ``name`` of ``step`` (blocking); raises for a failed step."""
        ...


class LazyValue:
    """A step's future return value (see the module docstring)."""

    __slots__ = ("_tm_event", "_tm_loaded", "_tm_lock", "_tm_name", "_tm_owner", "_tm_step", "_tm_value")

    def __init__(self, owner: OutputSource, step: str, name: str, event: threading.Event) -> None:
        object.__setattr__(self, "_tm_owner", owner)
        object.__setattr__(self, "_tm_step", step)
        object.__setattr__(self, "_tm_name", name)
        object.__setattr__(self, "_tm_event", event)
        object.__setattr__(self, "_tm_loaded", False)
        object.__setattr__(self, "_tm_value", None)
        object.__setattr__(self, "_tm_lock", threading.Lock())

    @property
    def step_name(self) -> str:
        """The producing step."""
        return str(self._tm_step)

    @property
    def return_name(self) -> str:
        """Which return value of the step this is."""
        return str(self._tm_name)

    def is_ready(self) -> bool:
        """True once the producing step has finished (never blocks)."""
        return bool(self._tm_event.is_set())

    def result(self, timeout: float | None = None) -> Any:
        """The value, waiting up to ``timeout`` seconds (TimeoutError after)."""
        if not self._tm_event.wait(timeout):
            raise TimeoutError(f"step '{self._tm_step}' did not finish within {timeout} s")
        return self._tm_resolve()

    def _tm_resolve(self) -> Any:
        with self._tm_lock:
            if not self._tm_loaded:
                self._tm_event.wait()
                value = self._tm_owner.load_output(self._tm_step, self._tm_name)
                object.__setattr__(self, "_tm_value", value)
                object.__setattr__(self, "_tm_loaded", True)
        return self._tm_value

    # -- transparent use ---------------------------------------------------------------------

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_tm_"):
            raise AttributeError(name)
        return getattr(self._tm_resolve(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._tm_resolve(), name, value)

    def __repr__(self) -> str:
        return repr(self._tm_resolve())

    def __str__(self) -> str:
        return str(self._tm_resolve())

    def __format__(self, spec: str) -> str:
        return format(self._tm_resolve(), spec)

    def __bool__(self) -> bool:
        return bool(self._tm_resolve())

    def __len__(self) -> int:
        return len(self._tm_resolve())

    def __iter__(self) -> Any:
        return iter(self._tm_resolve())

    def __contains__(self, item: Any) -> bool:
        return _plain(item) in self._tm_resolve()

    def __getitem__(self, key: Any) -> Any:
        return self._tm_resolve()[_plain(key)]

    def __hash__(self) -> int:
        return hash(self._tm_resolve())

    def __int__(self) -> int:
        return int(self._tm_resolve())

    def __float__(self) -> float:
        return float(self._tm_resolve())

    def __index__(self) -> int:
        return operator.index(self._tm_resolve())

    def __round__(self, ndigits: int | None = None) -> Any:
        return round(self._tm_resolve(), ndigits)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._tm_resolve()(*args, **kwargs)

    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        import numpy as np

        return np.asarray(self._tm_resolve(), *args, **kwargs)

    def __fspath__(self) -> str:
        return str(self._tm_resolve())

    def __neg__(self) -> Any:
        return -self._tm_resolve()

    def __pos__(self) -> Any:
        return +self._tm_resolve()

    def __abs__(self) -> Any:
        return abs(self._tm_resolve())

    def __invert__(self) -> Any:
        return ~self._tm_resolve()


def _plain(value: Any) -> Any:
    return value._tm_resolve() if isinstance(value, LazyValue) else value


def _binary(op: Callable[[Any, Any], Any], reflected: bool) -> Callable[[LazyValue, Any], Any]:
    if reflected:

        def method(self: LazyValue, other: Any) -> Any:
            return op(_plain(other), self._tm_resolve())

    else:

        def method(self: LazyValue, other: Any) -> Any:
            return op(self._tm_resolve(), _plain(other))

    return method


_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "truediv": operator.truediv,
    "floordiv": operator.floordiv,
    "mod": operator.mod,
    "pow": operator.pow,
    "matmul": operator.matmul,
    "and": operator.and_,
    "or": operator.or_,
    "xor": operator.xor,
    "lshift": operator.lshift,
    "rshift": operator.rshift,
}
for _name, _op in _OPERATORS.items():
    setattr(LazyValue, f"__{_name}__", _binary(_op, reflected=False))
    setattr(LazyValue, f"__r{_name}__", _binary(_op, reflected=True))
for _name, _op in {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
}.items():
    setattr(LazyValue, f"__{_name}__", _binary(_op, reflected=False))


def find_lazy(value: Any) -> list[LazyValue]:
    """Every lazy value inside ``value`` (lists, tuples, dicts, sets), in order."""
    if isinstance(value, LazyValue):
        return [value]
    found: list[LazyValue] = []
    if isinstance(value, dict):
        for item in value.values():
            found += find_lazy(item)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            found += find_lazy(item)
    return found


def raise_failed(step: str, task_id: str | None, message: str, *, prefix: str = "") -> None:
    """The error a failed step's value raises where it is used (``prefix``: how the value's own
    step relates to the failed one, for a skipped step)."""
    raise StepFailedError(
        f"{prefix}pipeline step '{step}' (task {task_id}) failed: {message or 'see its log'}; "
        f"inspect it with `taskmill tasks logs {task_id}`"
    )
