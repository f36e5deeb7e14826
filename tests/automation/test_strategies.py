"""Search strategies: the grid in order, random samples without repeats, trial names."""

from __future__ import annotations

import pytest

from taskmill.automation.objective import Objective
from taskmill.automation.parameters import DiscreteParameterRange, UniformIntegerParameterRange
from taskmill.automation.strategies import GridSearch, RandomSearch, SearchStrategy

LOSS = Objective("val", "loss", order="min")
SPACE = [DiscreteParameterRange("Args/opt", ["adam", "sgd"]), UniformIntegerParameterRange("Args/n", 1, 3)]


def drain(strategy: SearchStrategy) -> list[dict[str, object]]:
    out = []
    while (point := strategy.suggest()) is not None:
        out.append(point)
    return out


def test_grid_search_tries_every_combination_in_order() -> None:
    grid = drain(GridSearch(None, SPACE, LOSS))
    assert grid[:2] == [{"Args/opt": "adam", "Args/n": 1}, {"Args/opt": "adam", "Args/n": 2}]
    assert len(grid) == 6 and grid[-1] == {"Args/opt": "sgd", "Args/n": 3}


def test_random_search_never_repeats_and_stops_when_exhausted() -> None:
    samples = drain(RandomSearch(None, SPACE, LOSS))
    assert len(samples) == 6 and len({str(s) for s in samples}) == 6
    a = [RandomSearch(None, SPACE, LOSS, random_seed=5).suggest() for _ in range(2)]
    assert a[0] == a[1]  # the same seed gives the same first sample


def test_limits_and_names_are_kept() -> None:
    strategy = GridSearch(
        None, SPACE, [LOSS], time_limit_per_job=2.0, max_iteration_per_job=10, total_max_jobs=3
    )
    assert (strategy.time_limit_per_job, strategy.max_iteration_per_job, strategy.total_max_jobs) == (
        2.0,
        10,
        3,
    )
    assert strategy.get_objective_metric() == ("val", "loss")
    assert strategy.trial_name("train", {"b": 1, "a": 2}) == "train: a=2 b=1"
    strategy.set_job_naming_scheme(lambda base, params: f"{base}-{len(params)}")
    assert strategy.trial_name("train", {"b": 1}) == "train-1"
    with pytest.raises(ValueError, match="at least 1"):
        GridSearch(None, SPACE, LOSS, total_max_jobs=0)
