"""Hyper-parameter ranges: the values a grid tries and what sampling gives."""

from __future__ import annotations

import random

import pytest

from taskmill.automation.parameters import (
    DiscreteParameterRange,
    LogUniformParameterRange,
    Parameter,
    ParameterSet,
    UniformIntegerParameterRange,
    UniformParameterRange,
)


def values(p: Parameter) -> list[object]:
    return [next(iter(v.values())) for v in p.to_list()]


def test_uniform_ranges_with_and_without_a_step() -> None:
    assert values(UniformParameterRange("Args/lr", 0, 1, step_size=0.25)) == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert values(UniformParameterRange("Args/lr", 0, 1, step_size=0.25, include_max_value=False)) == [
        0.0,
        0.25,
        0.5,
        0.75,
    ]
    assert values(UniformParameterRange("Args/lr", 0, 1, step_size=0.3)) == [0.0, 0.3, 0.6, 0.9, 1.0]
    assert len(UniformParameterRange("x", 0, 1).to_list()) == 101
    rng = random.Random(1)
    samples = [UniformParameterRange("x", 2, 3).get_value(rng)["x"] for _ in range(200)]
    assert all(2 <= s <= 3 for s in samples) and len(set(samples)) == 200
    stepped = {UniformParameterRange("x", 0, 1, step_size=0.5).get_value(rng)["x"] for _ in range(100)}
    assert stepped == {0.0, 0.5, 1.0}


def test_log_uniform_ranges_are_powers_of_the_base() -> None:
    assert values(LogUniformParameterRange("lr", -3, -1, step_size=1)) == pytest.approx([1e-3, 1e-2, 1e-1])
    assert values(LogUniformParameterRange("lr", 0, 2, base=2, step_size=1)) == [1.0, 2.0, 4.0]
    sample = LogUniformParameterRange("lr", -5, -1).get_value(random.Random(3))["lr"]
    assert 1e-5 <= sample <= 1e-1


def test_integer_and_discrete_ranges() -> None:
    assert values(UniformIntegerParameterRange("n", 1, 9, step_size=3)) == [1, 4, 7, 9]
    assert values(UniformIntegerParameterRange("n", 1, 9, step_size=3, include_max_value=False)) == [1, 4, 7]
    assert {UniformIntegerParameterRange("n", 0, 2).get_value(random.Random(2))["n"] for _ in range(1)} <= {
        0,
        1,
        2,
    }
    assert values(DiscreteParameterRange("opt", ["adam", "sgd"])) == ["adam", "sgd"]


def test_parameter_sets_expand_their_ranges() -> None:
    space = ParameterSet(
        [
            {"Args/model": "small", "Args/lr": UniformParameterRange("Args/lr", 0.1, 0.2, step_size=0.1)},
            {"Args/model": "big", "Args/lr": 0.01},
        ]
    )
    assert space.to_list() == [
        {"Args/model": "small", "Args/lr": 0.1},
        {"Args/model": "small", "Args/lr": 0.2},
        {"Args/model": "big", "Args/lr": 0.01},
    ]
    sample = space.get_value(random.Random(0))
    assert set(sample) == {"Args/model", "Args/lr"}


def test_sampling_is_reproducible_with_a_seeded_generator() -> None:
    p = UniformParameterRange("x", 0, 1)
    assert p.get_value(random.Random(7)) == p.get_value(random.Random(7))


def test_to_dict_and_from_dict_round_trip() -> None:
    for p in (
        UniformParameterRange("a", 0, 1, step_size=0.5, include_max_value=False),
        LogUniformParameterRange("b", -3, -1, base=2),
        UniformIntegerParameterRange("c", 1, 5, 2),
        DiscreteParameterRange("d", [1, "x"]),
        ParameterSet([{"e": 1, "f": UniformParameterRange("f", 0, 1, step_size=1)}]),
    ):
        again = Parameter.from_dict(p.to_dict())
        assert type(again) is type(p) and again.to_list() == p.to_list()
    with pytest.raises(ValueError, match="unknown parameter type"):
        Parameter.from_dict({"type": "Gaussian"})


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: UniformParameterRange("x", 2, 1), "above max_value"),
        (lambda: UniformParameterRange("x", 0, 1, step_size=0), "positive"),
        (lambda: UniformIntegerParameterRange("x", 0, 1, step_size=-1), "positive"),
        (lambda: DiscreteParameterRange("x", []), "at least one value"),
        (lambda: ParameterSet([]), "at least one combination"),
    ],
)
def test_bad_ranges_are_refused(make: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()  # type: ignore[operator]
