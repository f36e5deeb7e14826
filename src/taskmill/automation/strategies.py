"""Search strategies: what to try next. ClearML's ``GridSearch`` and ``RandomSearch`` (and the
base that ``OptimizerOptuna`` builds on).

A strategy is a *suggestion engine* driven by
:class:`~taskmill.automation.optimization.HyperParameterOptimizer`, which launches and follows
the trials: :meth:`SearchStrategy.suggest` gives the next parameters (None when the space is
exhausted), :meth:`SearchStrategy.report` sees each trial's intermediate objective (returning
True prunes the trial), :meth:`SearchStrategy.tell` its final one. The per-job limits ClearML
passes to the strategy (``time_limit_per_job`` in minutes, ``min/max_iteration_per_job``,
``total_max_jobs``, ``compute_time_limit`` in minutes, ``pool_period_min``) are kept here and
enforced by the optimizer. To write your own strategy, subclass and override ``suggest`` (and
``report``/``tell`` if it learns).
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from taskmill.api.task import Task
from taskmill.automation.objective import Objective
from taskmill.automation.parameters import DEFAULT_SEED, Parameter

_MAX_DUPLICATES = 100  #: random samples in a row that were tried already: the space is exhausted


def parameters_key(parameters: dict[str, Any]) -> str:
    """A stable key for a parameter combination (to spot duplicates)."""
    return json.dumps(parameters, sort_keys=True, default=str)


class SearchStrategy:
    """The base strategy: holds the space, the objective(s) and the limits."""

    def __init__(
        self,
        base_task_id: str | None,
        hyper_parameters: Sequence[Parameter],
        objective_metric: Objective | Sequence[Objective],
        execution_queue: str | None = None,
        num_concurrent_workers: int = 1,
        pool_period_min: float = 2.0,
        time_limit_per_job: float | None = None,
        compute_time_limit: float | None = None,
        max_iteration_per_job: int | None = None,
        total_max_jobs: int | None = None,
        min_iteration_per_job: int | None = None,
        random_seed: int = DEFAULT_SEED,
        **_: Any,
    ) -> None:
        """Keep the search definition; ValueError for an empty space or bad limits."""
        if not hyper_parameters:
            raise ValueError("the search needs at least one hyper-parameter range")
        for label, value in (
            ("total_max_jobs", total_max_jobs),
            ("num_concurrent_workers", num_concurrent_workers),
        ):
            if value is not None and int(value) < 1:
                raise ValueError(f"{label} must be at least 1, not {value}")
        self._base_task_id = base_task_id
        self._hyper_parameters = list(hyper_parameters)
        self._objectives = (
            [objective_metric] if isinstance(objective_metric, Objective) else list(objective_metric)
        )
        self._execution_queue = execution_queue
        self._num_concurrent_workers = int(num_concurrent_workers)
        self.pool_period_min = float(pool_period_min)
        self.time_limit_per_job = time_limit_per_job
        self.compute_time_limit = compute_time_limit
        self.min_iteration_per_job = min_iteration_per_job
        self.max_iteration_per_job = max_iteration_per_job
        self.total_max_jobs = total_max_jobs
        self._random = random.Random(random_seed)
        self._naming: Callable[[str, dict[str, Any]], str] | None = None
        self._parent: str | None = None
        self._project: str | None = None
        self._optimizer_task: Task | None = None
        self._top: Callable[[int], list[Task]] = lambda top_k: []

    # == what the optimizer drives ===========================================================

    def suggest(self) -> dict[str, Any] | None:
        """The next parameter combination ``{"Section/name": value}``, None when done."""
        raise NotImplementedError

    def report(self, trial_id: str, iteration: int, value: float) -> bool:
        """A running trial's current objective; return True to stop (prune) it. Default: never."""
        return False

    def tell(self, trial_id: str, values: Sequence[float] | None, status: str) -> None:
        """A trial ended (``values`` per objective, None when it reported none). Default: ignored."""

    def bind(self, trial_id: str, parameters: dict[str, Any]) -> None:
        """The trial launched for the last :meth:`suggest` got ``trial_id`` (default: ignored)."""

    # == ClearML's accessors =================================================================

    def get_objective_metric(self) -> tuple[str, str] | list[tuple[str, str]]:
        """``(title, series)``, or a list of them for several objectives."""
        pairs = [o.get_objective_metric() for o in self._objectives]
        return pairs[0] if len(pairs) == 1 else pairs

    def set_job_naming_scheme(self, naming_function: Callable[[str, dict[str, Any]], str] | None) -> None:
        """Name trials ``naming_function(base_task_name, parameters)`` instead of
        ``"<base name>: k=v ..."``."""
        self._naming = naming_function

    def set_job_default_parent(self, job_parent_task_id: str | None, project_name: str | None = None) -> None:
        """Trials become children of ``job_parent_task_id``, in ``project_name`` when given."""
        self._parent = job_parent_task_id
        self._project = project_name

    def set_optimizer_task(self, task: Task | None) -> None:
        """The optimization's own task."""
        self._optimizer_task = task

    def get_top_experiments(self, top_k: int) -> list[Task]:
        """The best ``top_k`` trial tasks so far, best first."""
        return self._top(top_k)

    def trial_name(self, base_name: str, parameters: dict[str, Any]) -> str:
        """The name a trial task gets."""
        if self._naming is not None:
            return self._naming(base_name, parameters)
        return f"{base_name}: " + " ".join(f"{k}={parameters[k]}" for k in sorted(parameters))


class GridSearch(SearchStrategy):
    """Every combination of the parameters' ``to_list()`` values, in order."""

    _grid: Iterator[tuple[dict[str, Any], ...]] | None = None

    def suggest(self) -> dict[str, Any] | None:
        """The next grid point, None after the last."""
        if self._grid is None:
            self._grid = itertools.product(*(p.to_list() for p in self._hyper_parameters))
        point = next(self._grid, None)
        if point is None:
            return None
        merged: dict[str, Any] = {}
        for part in point:
            merged.update(part)
        return merged


class RandomSearch(SearchStrategy):
    """Random samples of every parameter, never the same combination twice."""

    _seen: set[str] | None = None

    def suggest(self) -> dict[str, Any] | None:
        """A new random combination; None once 100 samples in a row were all tried already."""
        if self._seen is None:
            self._seen = set()
        for _ in range(_MAX_DUPLICATES):
            merged: dict[str, Any] = {}
            for parameter in self._hyper_parameters:
                merged.update(parameter.get_value(self._random))
            key = parameters_key(merged)
            if key not in self._seen:
                self._seen.add(key)
                return merged
        return None
