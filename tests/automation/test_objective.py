"""Objectives read from reported scalars: last value or best value, and the best stored tasks."""

from __future__ import annotations

import pytest

from taskmill import Task
from taskmill.automation.objective import Objective
from taskmill.store.base import TaskStore

SCALARS = {"val": {"loss": {"x": [0, 1, 2], "y": [0.9, 0.2, 0.5]}}}


def test_last_and_global_values() -> None:
    assert Objective("val", "loss", "min").raw_from_scalars(SCALARS) == (2, 0.5)
    assert Objective.from_sign("val", "loss", "min_global").raw_from_scalars(SCALARS) == (1, 0.2)
    assert Objective.from_sign("val", "loss", "max_global").raw_from_scalars(SCALARS) == (0, 0.9)
    assert Objective("val", "acc").raw_from_scalars(SCALARS) is None
    with pytest.raises(ValueError, match="objective_metric_sign"):
        Objective.from_sign("val", "loss", "smallest")


def test_top_tasks_of_an_optimization_best_first(store: TaskStore) -> None:
    parent = Task.create(project_name="hpo", task_name="opt")
    made = []
    for value in (0.5, 0.1, 0.3):
        task = Task.create(project_name="hpo", task_name=f"t{value}")
        task.set_parent(parent)
        task.mark_started()
        task.get_logger().report_scalar("val", "loss", value, iteration=0)
        task.mark_completed()
        made.append(task)
    objective = Objective("val", "loss", "min")
    assert [t.id for t in objective.get_top_tasks(2, optimizer_task_id=parent.id)] == [made[1].id, made[2].id]
    assert objective.get_normalized_objective(made[0].id) == -0.5
    assert objective.get_current_raw_objective(made[0]) == (0, 0.5)
