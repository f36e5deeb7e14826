"""HyperParameterOptimizer over real trials: agent-run clones of a script, local processes and
functions, each reporting a known quadratic whose optimum is x=1.5, y=-0.5."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from taskmill import Task
from taskmill.automation import (
    DiscreteParameterRange,
    GridSearch,
    HyperParameterOptimizer,
    RandomSearch,
    UniformParameterRange,
)
from taskmill.store.base import TaskStore
from tests.automation.conftest import wait_for

SPACE = [
    UniformParameterRange("General/x", 0.0, 3.0, step_size=0.5),
    UniformParameterRange("General/y", -1.0, 1.0, step_size=0.5),
]


def loss(x: float, y: float) -> float:
    return (x - 1.5) ** 2 + (y + 0.5) ** 2


def quadratic_trial(task: Task, params: dict[str, Any]) -> None:
    task.get_logger().report_scalar(
        "val", "loss", loss(params["General/x"], params["General/y"]), iteration=0
    )


def most_running_at_once(trials: list[Task]) -> int:
    spans = sorted((t.data.started or 0.0, t.data.completed or 0.0) for t in trials)
    return max(sum(1 for s, e in spans if s <= start < e) for start, _ in spans)


def test_grid_search_on_a_queue_finds_the_optimum(
    store: TaskStore, quadratic: Task, agent: Callable[..., subprocess.Popen[str]]
) -> None:
    agent("hpo", services=4)
    done: list[tuple[str, float, str]] = []
    optimizer = HyperParameterOptimizer(
        base_task_id=quadratic.id,
        hyper_parameters=SPACE,
        objective_metric_title="val",
        objective_metric_series="loss",
        objective_metric_sign="min",
        optimizer_class=GridSearch,
        max_number_of_concurrent_tasks=3,
        execution_queue="hpo",
        pool_period_min=0.01,
    )
    optimizer.start(job_complete_callback=lambda job, value, it, params, top: done.append((job, value, top)))
    assert optimizer.wait(timeout=2) and optimizer.error is None

    trials = Task.get_tasks(task_filter={"parent": optimizer.task.id})
    assert len(trials) == 35 and all(t.status == "completed" for t in trials)
    assert most_running_at_once(trials) <= 3
    (best,) = optimizer.get_top_experiments(1)
    assert best.get_parameter("General/x") == 1.5 and best.get_parameter("General/y") == -0.5
    assert best.name == "quadratic: General/x=1.5 General/y=-0.5"
    assert "optimization" in best.get_tags() and f"opt: {optimizer.task.id}" in best.get_tags()
    (details,) = optimizer.get_top_experiments_details(1)
    assert details == {
        "task_id": best.id,
        "hyper_parameters": {"General/x": 1.5, "General/y": -0.5},
        "metrics": {"val": {"loss": 0.0}},
    }
    assert len(done) == 35 and done[-1][2] == best.id
    stored = HyperParameterOptimizer.get_optimizer_top_experiments(
        "val", "loss", "min", optimizer.task.id, top_k=2
    )
    assert [t.id for t in stored][:1] == [best.id]
    assert optimizer.task.status == "completed" and optimizer.task.task_type == "optimizer"
    assert optimizer.task.get_parameter("opt/optimizer_class") == "GridSearch"
    summary = [p for p in optimizer.task.get_reported_plots() if p["title"] == "summary"]
    assert len(summary[0]["data"]["rows"]) == 35


def test_random_search_with_a_trial_function_gets_close(store: TaskStore) -> None:
    optimizer = HyperParameterOptimizer(
        None,
        [UniformParameterRange("General/x", 0.0, 3.0), UniformParameterRange("General/y", -1.0, 1.0)],
        "val",
        "loss",
        "min",
        optimizer_class=RandomSearch,
        max_number_of_concurrent_tasks=4,
        total_max_jobs=40,
        trial_function=quadratic_trial,
        spawn_project="hpo",
        pool_period_min=0.01,
    )
    optimizer.start()
    assert optimizer.wait(timeout=2)
    trials = optimizer.get_trials()
    assert len(trials) == 40 and len({str(t.parameters) for t in trials}) == 40
    best = optimizer.get_top_experiments_details(1)[0]
    best_loss = best["metrics"]["val"]["loss"]
    assert best_loss == min(loss(t.parameters["General/x"], t.parameters["General/y"]) for t in trials)
    assert best_loss < 0.1


def test_start_locally_runs_the_script_as_child_processes(store: TaskStore, quadratic: Task) -> None:
    optimizer = HyperParameterOptimizer(
        quadratic.id,
        [DiscreteParameterRange("General/x", [1.0, 1.5]), DiscreteParameterRange("General/y", [-0.5, 0.5])],
        "val",
        "loss",
        "min_global",
        optimizer_class=GridSearch,
        max_number_of_concurrent_tasks=2,
        pool_period_min=0.01,
    )
    optimizer.start_locally()
    assert optimizer.wait(timeout=2) and optimizer.error is None
    assert [t.status for t in optimizer.get_trials()] == ["completed"] * 4
    (best,) = optimizer.get_top_experiments(1)
    assert (best.get_parameter("General/x"), best.get_parameter("General/y")) == (1.5, -0.5)


def slow_trial(task: Task, params: dict[str, Any]) -> None:
    for i in range(200):
        if task.status != "in_progress":
            return
        task.get_logger().report_scalar("val", "loss", float(params["General/x"]) + i, iteration=i)
        task.flush()
        time.sleep(0.02)


def test_per_trial_limits_stop_trials_and_their_value_still_counts(store: TaskStore) -> None:
    optimizer = HyperParameterOptimizer(
        None,
        [DiscreteParameterRange("General/x", [1.0, 2.0])],
        "val",
        "loss",
        "min",
        optimizer_class=GridSearch,
        trial_function=slow_trial,
        max_iteration_per_job=3,
        pool_period_min=0.001,
    )
    optimizer.start()
    assert optimizer.wait(timeout=1)
    trials = optimizer.get_trials()
    assert [t.status for t in trials] == ["stopped", "stopped"]
    assert all(3 < t.iteration < 50 for t in trials)
    assert optimizer.get_top_experiments(1)[0].id == trials[0].id

    timed = HyperParameterOptimizer(
        None,
        [DiscreteParameterRange("General/x", [1.0])],
        "val",
        "loss",
        trial_function=slow_trial,
        time_limit_per_job=0.5 / 60,
        pool_period_min=0.001,
        spawn_project="hpo",
    )
    started = time.monotonic()
    timed.start()
    assert timed.wait(timeout=1)
    assert time.monotonic() - started < 3
    assert [t.status for t in timed.get_trials()] == ["stopped"]


def test_save_top_k_archives_the_others(store: TaskStore) -> None:
    optimizer = HyperParameterOptimizer(
        None,
        [
            DiscreteParameterRange("General/x", [0.0, 1.0, 1.5, 2.0, 3.0]),
            DiscreteParameterRange("General/y", [-0.5]),
        ],
        "val",
        "loss",
        optimizer_class=GridSearch,
        trial_function=quadratic_trial,
        save_top_k_tasks_only=2,
        max_number_of_concurrent_tasks=1,
        pool_period_min=0.001,
    )
    optimizer.start()
    assert optimizer.wait(timeout=1)
    kept = {t.task.get_parameter("General/x") for t in optimizer.get_trials() if not t.task.get_archived()}
    assert kept == {1.0, 1.5} or kept == {1.5, 2.0}


def test_stop_ends_the_search_and_its_running_trials(store: TaskStore) -> None:
    optimizer = HyperParameterOptimizer(
        None,
        [UniformParameterRange("General/x", 0.0, 1.0)],
        "val",
        "loss",
        trial_function=slow_trial,
        max_number_of_concurrent_tasks=2,
        total_max_jobs=10,
    )
    optimizer.start()
    wait_for(lambda: optimizer.get_num_active_experiments() == 2, 10, "two running trials")
    assert optimizer.is_active() and optimizer.elapsed() >= 0
    optimizer.stop()
    assert optimizer.wait(timeout=0.1) and not optimizer.is_active()
    assert {t.status for t in optimizer.get_trials()} == {"stopped"} and len(optimizer.get_trials()) == 2


def test_the_optimization_time_limit_ends_the_search(store: TaskStore) -> None:
    optimizer = HyperParameterOptimizer(
        None,
        [UniformParameterRange("General/x", 0.0, 1.0)],
        "val",
        "loss",
        trial_function=slow_trial,
        optimization_time_limit=0.5 / 60,
        pool_period_min=0.001,
    )
    optimizer.start()
    assert optimizer.get_time_limit() is not None
    assert optimizer.wait(timeout=0.2) and optimizer.reached_time_limit()
    assert all(t.status == "stopped" for t in optimizer.get_trials())


def test_an_unknown_queue_ends_the_search_with_the_error(store: TaskStore, quadratic: Task) -> None:
    optimizer = HyperParameterOptimizer(quadratic.id, SPACE, "val", "loss", execution_queue="nowhere")
    optimizer.start()
    assert optimizer.wait(timeout=0.5)
    assert "nowhere" in str(optimizer.error)
    assert Task.get_tasks(task_filter={"parent": optimizer.task.id}) == []


def test_the_current_task_is_the_optimizers_task(store: TaskStore, quadratic: Task) -> None:
    mine = Task.create(project_name="hpo", task_name="controller")
    optimizer = HyperParameterOptimizer(quadratic.id, SPACE, "val", "loss", auto_connect_task=mine)
    assert optimizer.task is mine and "optimization" in mine.get_tags()
    assert "hyper_parameters" in mine.get_configuration_objects()


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        (
            {
                "objective_metric_title": ["a", "b"],
                "objective_metric_series": ["x", "y"],
                "objective_metric_sign": ["min", "max"],
            },
            "OptimizerOptuna",
        ),
        (
            {
                "objective_metric_title": ["a"],
                "objective_metric_series": ["x", "y"],
                "objective_metric_sign": ["min"],
            },
            "same length",
        ),
        ({"objective_metric_sign": "lowest"}, "objective_metric_sign"),
        ({"base_task_id": None}, "base_task_id"),
        ({"hyper_parameters": []}, "at least one"),
    ],
)
def test_bad_definitions_are_refused(
    store: TaskStore, quadratic: Task, kw: dict[str, Any], message: str
) -> None:
    args: dict[str, Any] = {
        "base_task_id": quadratic.id,
        "hyper_parameters": SPACE,
        "objective_metric_title": "val",
        "objective_metric_series": "loss",
        "objective_metric_sign": "min",
    }
    with pytest.raises(ValueError, match=message):
        HyperParameterOptimizer(**{**args, **kw})


def test_set_default_job_class_says_what_to_use(store: TaskStore, quadratic: Task) -> None:
    optimizer = HyperParameterOptimizer(quadratic.id, SPACE, "val", "loss")
    with pytest.raises(NotImplementedError, match="start_locally"):
        optimizer.set_default_job_class(object)
    assert threading.active_count() >= 1
