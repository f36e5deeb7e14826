"""OptimizerBOHB imports like ClearML's and says what to use instead."""

from __future__ import annotations

import pytest

from taskmill.automation.hpbandster import OptimizerBOHB
from taskmill.automation.strategies import SearchStrategy


def test_constructing_bohb_points_to_optuna() -> None:
    assert issubclass(OptimizerBOHB, SearchStrategy)
    with pytest.raises(NotImplementedError, match="use OptimizerOptuna"):
        OptimizerBOHB(base_task_id="x", hyper_parameters=[], objective_metric=None)
