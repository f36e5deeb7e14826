"""Hyper-parameter spaces: ClearML's ``UniformParameterRange``, ``UniformIntegerParameterRange``,
``DiscreteParameterRange``, ``LogUniformParameterRange`` and ``ParameterSet``.

A parameter's ``name`` is the task parameter it sets (``Args/lr``, ``General/epochs``; a name
without a section means ``General/``, as everywhere in taskmill). ``to_list()`` enumerates the
values a grid search tries; ``get_value()`` samples one. Sampling takes the strategy's own
``random.Random`` (seeded, so a search is reproducible); without one, the parameter's own
generator, seeded with :data:`DEFAULT_SEED` when the parameter is made. There is no process-wide
seed: ClearML's ``RandomSeed.set_random_seed`` is per strategy here (``random_seed=``).
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from itertools import product
from typing import Any

DEFAULT_SEED = 1337
GRID_POINTS = 100  #: values ``to_list()`` gives a uniform range without a step (as ClearML)


class Parameter:
    """A named hyper-parameter with values to search."""

    def __init__(self, name: str | None) -> None:
        """Name the parameter (``Section/name``)."""
        self.name = name
        self._random = random.Random(DEFAULT_SEED)

    def get_value(self, rng: random.Random | None = None) -> dict[str, Any]:
        """A sampled ``{name: value}``."""
        raise NotImplementedError

    def to_list(self) -> list[dict[str, Any]]:
        """Every value a grid search tries, as ``[{name: value}, ...]``."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """JSON-able description (``type`` plus the constructor's fields)."""
        fields = {k: v for k, v in vars(self).items() if not k.startswith("_")}
        return {"type": type(self).__name__, **{k: _plain(v) for k, v in fields.items()}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Parameter:
        """Rebuild a parameter from :meth:`to_dict`. ValueError for an unknown type."""
        kinds: dict[str, type[Parameter]] = {
            k.__name__: k
            for k in (
                UniformParameterRange,
                LogUniformParameterRange,
                UniformIntegerParameterRange,
                DiscreteParameterRange,
                ParameterSet,
            )
        }
        kind = kinds.get(str(data.get("type")))
        if kind is None:
            raise ValueError(f"unknown parameter type {data.get('type')!r}; expected one of {sorted(kinds)}")
        fields = {k: v for k, v in data.items() if k != "type"}
        if kind is ParameterSet:
            combos = [{k: _revive(v) for k, v in combo.items()} for combo in fields.get("values", [])]
            return ParameterSet(combos)
        if "include_max" in fields:
            fields["include_max_value"] = fields.pop("include_max")
        return kind(**fields)

    def _rng(self, rng: random.Random | None) -> random.Random:
        return rng if rng is not None else self._random

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.to_dict().items() if k != "type")
        return f"{type(self).__name__}({fields})"


def _plain(value: Any) -> Any:
    if isinstance(value, Parameter):
        return value.to_dict()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _revive(value: Any) -> Any:
    return Parameter.from_dict(value) if isinstance(value, Mapping) and "type" in value else value


class UniformParameterRange(Parameter):
    """A float in ``[min_value, max_value]``, on a grid of ``step_size`` when given."""

    def __init__(
        self,
        name: str,
        min_value: float,
        max_value: float,
        step_size: float | None = None,
        include_max_value: bool = True,
    ) -> None:
        """ValueError when ``min_value > max_value`` or the step is not positive."""
        super().__init__(name)
        self.min_value, self.max_value = float(min_value), float(max_value)
        if self.min_value > self.max_value:
            raise ValueError(f"'{name}': min_value {min_value} is above max_value {max_value}")
        if step_size is not None and float(step_size) <= 0:
            raise ValueError(f"'{name}': step_size must be positive, not {step_size}")
        self.step_size = None if step_size is None else float(step_size)
        self.include_max = bool(include_max_value)

    def _grid(self) -> list[float]:
        span = self.max_value - self.min_value
        step = self.step_size or (span / GRID_POINTS if span else 1.0)
        count = math.floor(span / step + 1e-9) + 1
        values = [round(self.min_value + i * step, 12) for i in range(count)]
        if values and values[-1] >= self.max_value - 1e-12:
            values = values[:-1]
        if self.include_max or not values:
            values.append(self.max_value)
        return values

    def get_value(self, rng: random.Random | None = None) -> dict[str, Any]:
        """A uniform sample (a grid point when ``step_size`` is set)."""
        r = self._rng(rng)
        if self.step_size:
            return {str(self.name): r.choice(self._grid())}
        return {str(self.name): r.uniform(self.min_value, self.max_value)}

    def to_list(self) -> list[dict[str, Any]]:
        """The grid from min to max (``GRID_POINTS`` steps when no ``step_size``)."""
        return [{str(self.name): v} for v in self._grid()]


class LogUniformParameterRange(UniformParameterRange):
    """``base ** x`` for ``x`` uniform in ``[min_value, max_value]`` (e.g. 1e-5 .. 1e-1)."""

    def __init__(
        self,
        name: str,
        min_value: float,
        max_value: float,
        base: float = 10,
        step_size: float | None = None,
        include_max_value: bool = True,
    ) -> None:
        """The exponents range over ``[min_value, max_value]``."""
        super().__init__(name, min_value, max_value, step_size=step_size, include_max_value=include_max_value)
        self.base = float(base)

    def get_value(self, rng: random.Random | None = None) -> dict[str, Any]:
        """``base`` to a uniformly sampled exponent."""
        exponent = super().get_value(rng)[str(self.name)]
        return {str(self.name): self.base**exponent}

    def to_list(self) -> list[dict[str, Any]]:
        """``base`` to each exponent of the grid."""
        return [{str(self.name): self.base ** v[str(self.name)]} for v in super().to_list()]


class UniformIntegerParameterRange(Parameter):
    """An integer from ``min_value`` to ``max_value`` by ``step_size``."""

    def __init__(
        self,
        name: str,
        min_value: int,
        max_value: int,
        step_size: int = 1,
        include_max_value: bool = True,
    ) -> None:
        """ValueError when ``min_value > max_value`` or the step is not positive."""
        super().__init__(name)
        self.min_value, self.max_value = int(min_value), int(max_value)
        if self.min_value > self.max_value:
            raise ValueError(f"'{name}': min_value {min_value} is above max_value {max_value}")
        if int(step_size or 1) <= 0:
            raise ValueError(f"'{name}': step_size must be positive, not {step_size}")
        self.step_size = int(step_size or 1)
        self.include_max = bool(include_max_value)

    def _values(self) -> list[int]:
        values = list(range(self.min_value, self.max_value, self.step_size))
        if self.include_max and (not values or values[-1] < self.max_value):
            values.append(self.max_value)
        return values or [self.min_value]

    def get_value(self, rng: random.Random | None = None) -> dict[str, Any]:
        """A uniform sample of the allowed integers."""
        return {str(self.name): self._rng(rng).choice(self._values())}

    def to_list(self) -> list[dict[str, Any]]:
        """Every allowed integer."""
        return [{str(self.name): v} for v in self._values()]


class DiscreteParameterRange(Parameter):
    """One of a list of values (numbers, strings, booleans ...)."""

    def __init__(self, name: str, values: Sequence[Any] = ()) -> None:
        """ValueError for an empty list."""
        super().__init__(name)
        if not values:
            raise ValueError(f"'{name}': DiscreteParameterRange needs at least one value")
        self.values = list(values)

    def get_value(self, rng: random.Random | None = None) -> dict[str, Any]:
        """A uniformly chosen value."""
        return {str(self.name): self._rng(rng).choice(self.values)}

    def to_list(self) -> list[dict[str, Any]]:
        """Every value, in order."""
        return [{str(self.name): v} for v in self.values]


class ParameterSet(Parameter):
    """One of several combinations of parameters; a value in a combination may be a range."""

    def __init__(self, parameter_combinations: Sequence[Mapping[str, Any]] = ()) -> None:
        """``[{"Args/a": 1, "Args/b": UniformParameterRange("Args/b", 0, 1)}, {...}]``."""
        super().__init__(None)
        if not parameter_combinations:
            raise ValueError("ParameterSet needs at least one combination")
        self.values = [dict(c) for c in parameter_combinations]

    def get_value(self, rng: random.Random | None = None) -> dict[str, Any]:
        """A uniformly chosen combination (its ranges sampled)."""
        r = self._rng(rng)
        combination = r.choice(self.values)
        out: dict[str, Any] = {}
        for key, value in combination.items():
            out.update(value.get_value(r) if isinstance(value, Parameter) else {key: value})
        return out

    def to_list(self) -> list[dict[str, Any]]:
        """Every combination, ranges expanded to their grids."""
        out: list[dict[str, Any]] = []
        for combination in self.values:
            options = [v.to_list() if isinstance(v, Parameter) else [{k: v}] for k, v in combination.items()]
            for choice in product(*options):
                merged: dict[str, Any] = {}
                for part in choice:
                    merged.update(part)
                out.append(merged)
        return out
