"""``OptimizerOptuna``: the Optuna search strategy (ClearML's ``clearml.automation.optuna``).

Needs the optional ``optuna`` package: ``pip install 'taskmill[optuna]'``. Importing this module
works without it; constructing the strategy raises ImportError naming that command.

Optuna's ask-and-tell interface drives the search: each :meth:`OptimizerOptuna.suggest` asks the
study for a trial and maps the ranges to Optuna distributions (uniform and integer ranges with
their steps, log-uniform ranges as log-scaled floats between ``base**min`` and ``base**max``,
discrete values and ``ParameterSet`` combinations as categorical choices). Intermediate
objective values are reported to the trial at their iteration; once a trial has reached
``min_iteration_per_job`` iterations the study's pruner (``optuna_pruner``, Optuna's median
pruner by default) may stop it. Several objectives make a multi-objective study (no pruning).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

from taskmill.automation.parameters import (
    DiscreteParameterRange,
    LogUniformParameterRange,
    Parameter,
    UniformIntegerParameterRange,
    UniformParameterRange,
)
from taskmill.automation.strategies import SearchStrategy

INSTALL_HINT = "pip install 'taskmill[optuna]'"


def load_optuna() -> Any:
    """The ``optuna`` module; ImportError naming the install command when it is missing."""
    try:
        return importlib.import_module("optuna")
    except ImportError as exc:
        raise ImportError(f"OptimizerOptuna needs the optuna package: {INSTALL_HINT}") from exc


class OptimizerOptuna(SearchStrategy):
    """Search with an Optuna study (see the module docstring)."""

    multi_objective = True

    def __init__(
        self,
        base_task_id: str | None,
        hyper_parameters: Sequence[Parameter],
        objective_metric: Any,
        execution_queue: str | None = None,
        num_concurrent_workers: int = 1,
        max_iteration_per_job: int | None = None,
        total_max_jobs: int | None = None,
        pool_period_min: float = 2.0,
        min_iteration_per_job: int | None = None,
        time_limit_per_job: float | None = None,
        compute_time_limit: float | None = None,
        optuna_sampler: Any = None,
        optuna_pruner: Any = None,
        continue_previous_study: Any = None,
        **optuna_kwargs: Any,
    ) -> None:
        """Create the study. ImportError (with the install command) when optuna is missing."""
        optuna = load_optuna()
        seed = optuna_kwargs.pop("random_seed", None)
        super().__init__(
            base_task_id,
            hyper_parameters,
            objective_metric,
            execution_queue,
            num_concurrent_workers,
            pool_period_min=pool_period_min,
            time_limit_per_job=time_limit_per_job,
            compute_time_limit=compute_time_limit,
            min_iteration_per_job=min_iteration_per_job,
            max_iteration_per_job=max_iteration_per_job,
            total_max_jobs=total_max_jobs,
            **({"random_seed": seed} if seed is not None else {}),
        )
        self._optuna = optuna
        directions = ["maximize" if o.order == "max" else "minimize" for o in self._objectives]
        if continue_previous_study is not None:
            self._study = continue_previous_study
        else:
            sampler = optuna_sampler or optuna.samplers.TPESampler(seed=seed if seed is not None else 1337)
            pruner = optuna_pruner if optuna_pruner is not None else optuna.pruners.MedianPruner()
            if len(directions) == 1:
                self._study = optuna.create_study(direction=directions[0], sampler=sampler, pruner=pruner)
            else:
                self._study = optuna.create_study(directions=directions, sampler=sampler)
        self._asked: list[Any] = []
        self._by_trial: dict[str, Any] = {}
        self._combos: dict[int, list[dict[str, Any]]] = {}
        self._reported: dict[str, set[int]] = {}

    @property
    def study(self) -> Any:
        """The ``optuna.Study``."""
        return self._study

    def _suggest_one(self, trial: Any, index: int, parameter: Parameter) -> dict[str, Any]:
        name = str(parameter.name)
        if isinstance(parameter, LogUniformParameterRange):
            low, high = parameter.base**parameter.min_value, parameter.base**parameter.max_value
            return {name: trial.suggest_float(name, low, high, log=True)}
        if isinstance(parameter, UniformParameterRange):
            if parameter.step_size:
                return {name: trial.suggest_categorical(name, [v[name] for v in parameter.to_list()])}
            return {name: trial.suggest_float(name, parameter.min_value, parameter.max_value)}
        if isinstance(parameter, UniformIntegerParameterRange):
            values = [v[name] for v in parameter.to_list()]
            if values == list(range(values[0], values[-1] + 1, parameter.step_size)):
                return {name: trial.suggest_int(name, values[0], values[-1], step=parameter.step_size)}
            return {name: trial.suggest_categorical(name, values)}
        if isinstance(parameter, DiscreteParameterRange):
            return {name: trial.suggest_categorical(name, list(parameter.values))}
        combos = self._combos.setdefault(index, parameter.to_list())
        pick = trial.suggest_categorical(f"parameter_set_{index}", list(range(len(combos))))
        return dict(combos[int(pick)])

    def suggest(self) -> dict[str, Any] | None:
        """Ask the study for the next combination."""
        trial = self._study.ask()
        merged: dict[str, Any] = {}
        for index, parameter in enumerate(self._hyper_parameters):
            merged.update(self._suggest_one(trial, index, parameter))
        self._asked.append(trial)
        return merged

    def bind(self, trial_id: str, parameters: dict[str, Any]) -> None:
        """Tie the last asked Optuna trial to the launched task."""
        if self._asked:
            self._by_trial[trial_id] = self._asked.pop()

    def report(self, trial_id: str, iteration: int, value: float) -> bool:
        """Report the intermediate value; True when the pruner stops the trial."""
        trial = self._by_trial.get(trial_id)
        if trial is None or len(self._objectives) > 1 or iteration < 0:
            return False
        reported = self._reported.setdefault(trial_id, set())
        if iteration not in reported:  # Optuna keeps the first value per step
            trial.report(float(value), step=int(iteration))
            reported.add(iteration)
        if self.min_iteration_per_job is not None and iteration < int(self.min_iteration_per_job):
            return False
        return bool(trial.should_prune())

    def tell(self, trial_id: str, values: Sequence[float] | None, status: str) -> None:
        """Tell the study how the trial ended."""
        trial = self._by_trial.pop(trial_id, None)
        self._reported.pop(trial_id, None)
        if trial is None:
            return
        state = self._optuna.trial.TrialState
        if status == "pruned":
            self._study.tell(trial, state=state.PRUNED)
        elif values is None:
            self._study.tell(trial, state=state.FAIL)
        else:
            self._study.tell(trial, list(values) if len(values) > 1 else float(values[0]))
