"""``OptimizerBOHB`` (ClearML's ``clearml.automation.hpbandster``): not available in taskmill.

ClearML's BOHB strategy needs ``hpbandster``, which is unmaintained. The class exists so ClearML
code imports; constructing it raises NotImplementedError pointing to ``OptimizerOptuna``, whose
Hyperband pruner gives the same early stopping of bad trials.
"""

from __future__ import annotations

from typing import Any

from taskmill.automation.strategies import SearchStrategy

MESSAGE = (
    "OptimizerBOHB is not available in taskmill (it needs the unmaintained hpbandster package); "
    "use OptimizerOptuna instead: `from taskmill.automation.optuna import OptimizerOptuna` "
    "(pip install 'taskmill[optuna]'), with optuna_pruner=optuna.pruners.HyperbandPruner() "
    "for BOHB-like early stopping"
)


class OptimizerBOHB(SearchStrategy):
    """Placeholder for ClearML's BOHB strategy: constructing it raises NotImplementedError."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Always raises NotImplementedError (see the module docstring)."""
        raise NotImplementedError(MESSAGE)
