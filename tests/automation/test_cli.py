"""``taskmill schedules|triggers|hpo``: what real schedulers, triggers and optimizations stored,
read back by the CLI (tables and JSON)."""

from __future__ import annotations

import json
from datetime import timedelta

from typer.testing import CliRunner

from taskmill import Task
from taskmill.automation import GridSearch, HyperParameterOptimizer, TaskScheduler, TriggerScheduler
from taskmill.automation.clock import ManualClock
from taskmill.automation.parameters import UniformIntegerParameterRange
from taskmill.cli.main import app
from taskmill.store.base import TaskStore
from tests.automation.conftest import START

HOUR = 3600.0


def run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_schedules_show_next_runs_fires_and_skip_reasons(store: TaskStore, clock: ManualClock) -> None:
    first = TaskScheduler(clock=clock, missed_runs="skip")
    first.add_task(schedule_function=lambda: None, name="hourly", hour=1)
    first.run_until(clock.now() + HOUR)
    clock.set(START + timedelta(hours=5, minutes=10))  # down for four ticks
    again = TaskScheduler(clock=clock, missed_runs="skip")
    again.add_task(schedule_function=lambda: None, name="hourly", hour=1)
    again.step()
    again.join_functions()

    (listed,) = json.loads(run("schedules", "list", "--json"))
    assert listed["id"] == again.task.id and not listed["running"]
    (entry,) = listed["entries"]
    assert entry["name"] == "hourly" and entry["fired"] == 1
    assert entry["next_run"] == (START + timedelta(hours=6)).timestamp()
    assert again.task.id[:8] in run("schedules", "list")

    shown = run("schedules", "show", again.task.id[:8])
    assert f"Scheduler {again.task.name!r} ({again.task.id})" in shown and "hourly" in shown
    assert "skipped" in shown and "missed_runs='skip'" in shown  # the reason of the skip
    assert "fired" in shown


def test_triggers_show_what_they_fired_for(store: TaskStore) -> None:
    triggers = TriggerScheduler()
    triggers.add_task_trigger(
        schedule_function=lambda _: None, name="on-fail", trigger_project="work", trigger_on_status=["failed"]
    )
    triggers.step()
    bad = Task.create(project_name="work", task_name="bad")
    bad.mark_started()
    bad.mark_failed(status_reason="boom")
    triggers.step()
    triggers.join_functions()

    shown = json.loads(run("triggers", "show", triggers.task.id, "--json"))
    (entry,) = shown["entries"]
    assert entry["name"] == "on-fail" and entry["fired"] == 1
    assert [(e["action"], e["key"]) for e in shown["events"]] == [("fired", bad.id)]
    table = run("triggers", "show", triggers.task.id)
    assert "on-fail" in table and bad.id in table


def test_hpo_show_lists_trials_best_first(store: TaskStore) -> None:
    def trial(task: Task, params: dict[str, object]) -> None:
        x = int(str(params["General/x"]))
        task.get_logger().report_scalar("loss", "val", value=(x - 2) ** 2, iteration=0)

    opt = HyperParameterOptimizer(
        None,
        trial_function=trial,
        hyper_parameters=[UniformIntegerParameterRange("General/x", 0, 4)],
        objective_metric_title="loss",
        objective_metric_series="val",
        objective_metric_sign="min",
        optimizer_class=GridSearch,
        total_max_jobs=5,
        always_create_task=True,
    )
    opt.start()
    opt.wait()
    opt.stop()

    (listed,) = json.loads(run("hpo", "list", "--json"))
    assert listed["id"] == opt._task.id
    shown = json.loads(run("hpo", "show", listed["id"], "--json"))
    assert shown["objective"] == {"title": "loss", "series": "val", "sign": "min"}
    assert [t["parameters"]["General/x"] for t in shown["trials"]][:1] == [2]
    assert [t["objective"] for t in shown["trials"]] == [0.0, 1.0, 1.0, 4.0, 4.0]
    table = run("hpo", "show", listed["id"], "--top", "2")
    assert "General/x" in table and "Best:" in table
    assert (
        len(
            [
                line
                for line in table.splitlines()
                if not line.startswith("Optimization") and "Completed" in line
            ]
        )
        == 2
    )


def test_hpo_show_refuses_a_task_that_is_not_an_optimization(store: TaskStore) -> None:
    other = Task.create(project_name="work", task_name="plain")
    result = CliRunner().invoke(app, ["hpo", "show", other.id])
    assert result.exit_code == 1
    assert "is not an optimization" in result.output
