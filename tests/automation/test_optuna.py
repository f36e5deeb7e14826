"""OptimizerOptuna with the real optuna library: a seeded TPE search, pruning, several objectives."""

from __future__ import annotations

import sys
import time
from typing import Any

import pytest

from taskmill import Task
from taskmill.automation import (
    DiscreteParameterRange,
    HyperParameterOptimizer,
    LogUniformParameterRange,
    ParameterSet,
    UniformIntegerParameterRange,
    UniformParameterRange,
)
from taskmill.automation.optuna import OptimizerOptuna
from taskmill.store.base import TaskStore

optuna = pytest.importorskip("optuna")


def curve(task: Task, params: dict[str, Any]) -> None:
    """Loss falls with the iterations towards the quadratic's value."""
    final = (params["General/x"] - 1.5) ** 2 + (params["General/y"] + 0.5) ** 2
    for i in range(8):
        if task.status != "in_progress":
            return
        task.get_logger().report_scalar("val", "loss", final + 1.0 / (i + 1), iteration=i)
        task.flush()
        time.sleep(0.01)


def test_a_seeded_tpe_search_gets_close_and_prunes_bad_trials(store: TaskStore) -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    optimizer = HyperParameterOptimizer(
        None,
        [UniformParameterRange("General/x", 0.0, 3.0), UniformParameterRange("General/y", -1.0, 1.0)],
        "val",
        "loss",
        "min",
        optimizer_class=OptimizerOptuna,
        max_number_of_concurrent_tasks=1,
        total_max_jobs=25,
        min_iteration_per_job=3,
        trial_function=curve,
        pool_period_min=0.0005,
    )
    optimizer.start()
    assert optimizer.wait(timeout=2) and optimizer.error is None
    trials = optimizer.get_trials()
    assert len(trials) == 25
    study = optimizer.get_optimizer().study  # type: ignore[attr-defined]
    states = [t.state.name for t in study.trials]
    assert states.count("COMPLETE") + states.count("PRUNED") == 25 and "PRUNED" in states
    pruned = [t for t in trials if t.pruned]
    assert pruned and all(t.status == "stopped" for t in pruned)
    best = optimizer.get_top_experiments_details(1)[0]
    assert best["metrics"]["val"]["loss"] < 0.125 + 0.3  # final iteration adds 1/8
    assert best["task_id"] not in {t.id for t in pruned}


def test_every_kind_of_range_maps_to_an_optuna_distribution(store: TaskStore) -> None:
    seen: list[dict[str, Any]] = []

    def record(task: Task, params: dict[str, Any]) -> None:
        seen.append(params)
        task.get_logger().report_scalar("val", "loss", float(len(seen)), iteration=0)

    optimizer = HyperParameterOptimizer(
        None,
        [
            UniformParameterRange("General/a", 0.0, 1.0, step_size=0.25),
            LogUniformParameterRange("General/lr", -4, -1),
            UniformIntegerParameterRange("General/n", 2, 10, step_size=2),
            DiscreteParameterRange("General/opt", ["adam", "sgd"]),
            ParameterSet([{"General/w": 1, "General/d": 0.1}, {"General/w": 2, "General/d": 0.2}]),
        ],
        "val",
        "loss",
        optimizer_class=OptimizerOptuna,
        total_max_jobs=8,
        trial_function=record,
        pool_period_min=0.0005,
    )
    optimizer.start()
    assert optimizer.wait(timeout=1)
    assert len(seen) == 8
    for params in seen:
        assert params["General/a"] in (0.0, 0.25, 0.5, 0.75, 1.0)
        assert 1e-4 <= params["General/lr"] <= 1e-1
        assert params["General/n"] in (2, 4, 6, 8, 10)
        assert params["General/opt"] in ("adam", "sgd")
        assert (params["General/w"], params["General/d"]) in ((1, 0.1), (2, 0.2))


def test_several_objectives_make_a_multi_objective_study(store: TaskStore) -> None:
    def two(task: Task, params: dict[str, Any]) -> None:
        x = params["General/x"]
        task.get_logger().report_scalar("val", "loss", (x - 1) ** 2, iteration=0)
        task.get_logger().report_scalar("val", "accuracy", x, iteration=0)

    optimizer = HyperParameterOptimizer(
        None,
        [UniformParameterRange("General/x", 0.0, 2.0)],
        ["val", "val"],
        ["loss", "accuracy"],
        ["min", "max"],
        optimizer_class=OptimizerOptuna,
        total_max_jobs=6,
        trial_function=two,
        pool_period_min=0.0005,
    )
    optimizer.start()
    assert optimizer.wait(timeout=1)
    study = optimizer.get_optimizer().study  # type: ignore[attr-defined]
    assert len(study.directions) == 2 and len(study.best_trials) >= 1
    assert all(len(t.values) == 2 for t in study.trials)


def test_without_optuna_constructing_it_names_the_extra(
    store: TaskStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "optuna", None)  # what an environment without optuna sees
    with pytest.raises(ImportError, match=r"pip install 'taskmill\[optuna\]'"):
        HyperParameterOptimizer(
            None,
            [UniformParameterRange("General/x", 0, 1)],
            "val",
            "loss",
            optimizer_class=OptimizerOptuna,
            trial_function=curve,
        )
