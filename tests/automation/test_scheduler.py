"""TaskScheduler on a real SQLite store, driven by a manual clock (no sleeping for minutes)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from taskmill import Task
from taskmill.automation import TaskScheduler
from taskmill.automation.clock import ManualClock
from taskmill.automation.service import STATE_KEY
from taskmill.store.base import TaskStore
from tests.automation.conftest import START, wait_for

HOUR = 3600.0


def clones_of(base: Task) -> list[Task]:
    return [t for t in Task.get_tasks(project_name=base.project) if t.id != base.id]


def events(scheduler: TaskScheduler) -> list[dict[str, object]]:
    return list(scheduler.get_state().get("events") or [])


def test_every_15_minutes_clones_and_enqueues_the_task(
    store: TaskStore, echo: Task, clock: ManualClock
) -> None:
    store.create_queue("jobs")
    scheduler = TaskScheduler(clock=clock)
    scheduler.add_task(
        schedule_task_id=echo,
        queue="jobs",
        name="echo",
        minute=15,
        task_parameters={"Args/source": "cron"},
        task_overrides={"comment": "scheduled"},
    )
    scheduler.run_until(clock.now() + HOUR)

    runs = clones_of(echo)
    assert len(runs) == 4  # 00:15, 00:30, 00:45, 01:00
    for run in runs:
        assert run.status == "queued"
        assert run.get_parameter("Args/source") == "cron"
        assert run.comment == "scheduled"
        assert run.parent == echo.id
        assert run.get_runtime_properties()["_automation/launched_by"]["job"] == "echo"
    (job,) = scheduler.get_scheduled_tasks()
    assert job.next_run() == START + timedelta(hours=1, minutes=15)
    assert job.get_last_executed_task_id() in {r.id for r in runs}
    assert [e["key"] for e in events(scheduler)][:2] == [
        "2030-01-07T00:15:00+00:00",
        "2030-01-07T00:30:00+00:00",
    ]
    tables = {p["title"] for p in scheduler.task.get_reported_plots()}
    assert {"Schedule Tasks", "Executed Tasks"} <= tables


def test_functions_run_on_cron_ticks_in_a_time_zone(store: TaskStore, clock: ManualClock) -> None:
    calls: list[int] = []
    scheduler = TaskScheduler(clock=clock)
    scheduler.add_task(
        schedule_function=lambda: calls.append(1), name="report", cron="0 2 * * *", timezone="Europe/Paris"
    )
    scheduler.run_until(clock.now() + 3 * 24 * HOUR)
    scheduler.join_functions()
    assert len(calls) == 3
    assert [e["key"] for e in events(scheduler)] == [
        "2030-01-07T01:00:00+00:00",  # 02:00 in Paris (CET)
        "2030-01-08T01:00:00+00:00",
        "2030-01-09T01:00:00+00:00",
    ]


def test_a_failing_function_is_logged_and_the_schedule_goes_on(store: TaskStore, clock: ManualClock) -> None:
    def boom() -> None:
        raise RuntimeError("disk full")

    scheduler = TaskScheduler(clock=clock)
    scheduler.add_task(schedule_function=boom, hour=1)
    scheduler.run_until(clock.now() + 2 * HOUR)
    scheduler.join_functions()
    scheduler.task.flush()
    assert len(events(scheduler)) == 2
    assert any("RuntimeError: disk full" in line for line in scheduler.task.get_reported_console_output())


def test_a_restarted_scheduler_does_not_fire_a_tick_twice(
    store: TaskStore, echo: Task, clock: ManualClock
) -> None:
    store.create_queue("jobs")
    first = TaskScheduler(clock=clock)
    first.add_task(schedule_task_id=echo.id, queue="jobs", minute=30)
    first.run_until(clock.now() + HOUR)
    assert len(clones_of(echo)) == 2

    again = TaskScheduler(clock=clock)  # same service task, found by project and name
    again.add_task(schedule_task_id=echo.id, queue="jobs", minute=30)
    assert again.task.id == first.task.id
    assert again.step() == []  # 01:00 was fired by the first one
    clock.advance(30 * 60)
    assert len(again.step()) == 1
    assert len(clones_of(echo)) == 3
    (job,) = again.get_scheduled_tasks()
    assert job.next_run() == START + timedelta(hours=2)  # the same grid as before the restart


def test_missed_ticks_catch_up_once_not_in_a_burst(store: TaskStore, clock: ManualClock) -> None:
    calls: list[int] = []
    first = TaskScheduler(clock=clock)
    first.add_task(schedule_function=lambda: calls.append(1), name="hourly", hour=1)
    first.run_until(clock.now() + HOUR)
    clock.set(START + timedelta(hours=5, minutes=10))  # down for four ticks

    again = TaskScheduler(clock=clock)
    again.add_task(schedule_function=lambda: calls.append(1), name="hourly", hour=1)
    fired = again.step()
    assert len(fired) == 1 and fired[0].key == "2030-01-07T05:00:00+00:00"
    assert again.step() == []
    again.join_functions()
    assert len(calls) == 2
    assert events(again)[-1]["reason"] == "caught up once for 4 missed tick(s)"


def test_missed_ticks_are_skipped_with_the_skip_policy(store: TaskStore, clock: ManualClock) -> None:
    calls: list[int] = []
    first = TaskScheduler(clock=clock, missed_runs="skip")
    first.add_task(schedule_function=lambda: calls.append(1), name="hourly", hour=1)
    first.run_until(clock.now() + HOUR)
    clock.set(START + timedelta(hours=5, minutes=10))

    again = TaskScheduler(clock=clock, missed_runs="skip")
    again.add_task(schedule_function=lambda: calls.append(1), name="hourly", hour=1)
    (skipped,) = again.step()
    assert not skipped.launched and "missed 4 tick(s)" in skipped.skipped
    (job,) = again.get_scheduled_tasks()
    assert job.next_run() == START + timedelta(hours=6)
    clock.set(START + timedelta(hours=6))
    assert [f.launched for f in again.step()] == [True]
    again.join_functions()
    assert len(calls) == 2


def test_execute_immediately_fires_once_even_across_restarts(store: TaskStore, clock: ManualClock) -> None:
    calls: list[int] = []
    for _ in range(2):
        scheduler = TaskScheduler(clock=clock)
        scheduler.add_task(
            schedule_function=lambda: calls.append(1), name="now", day=1, execute_immediately=True
        )
        scheduler.step()
        scheduler.join_functions()
    assert len(calls) == 1
    scheduler.run_until(clock.now() + 24 * HOUR)
    scheduler.join_functions()
    assert len(calls) == 2


def test_not_recurring_fires_once(store: TaskStore, clock: ManualClock) -> None:
    scheduler = TaskScheduler(clock=clock)
    scheduler.add_task(schedule_function=lambda: None, name="once", minute=10, recurring=False)
    scheduler.run_until(clock.now() + HOUR)
    assert len(events(scheduler)) == 1
    assert scheduler.get_scheduled_tasks()[0].next_run() is None


def test_single_instance_skips_while_the_last_run_is_queued(
    store: TaskStore, echo: Task, clock: ManualClock
) -> None:
    store.create_queue("jobs")  # no agent serves it: the first run stays queued
    scheduler = TaskScheduler(clock=clock)
    scheduler.add_task(schedule_task_id=echo.id, queue="jobs", minute=10, single_instance=True)
    scheduler.run_until(clock.now() + 30 * 60)
    assert len(clones_of(echo)) == 1
    assert [e["action"] for e in events(scheduler)] == ["fired", "skipped", "skipped"]
    assert "still running" in str(events(scheduler)[-1]["reason"])


def test_limit_execution_time_stops_the_launched_task(
    store: TaskStore, echo: Task, clock: ManualClock
) -> None:
    store.create_queue("jobs")
    scheduler = TaskScheduler(clock=clock)
    scheduler.add_task(schedule_task_id=echo.id, queue="jobs", hour=4, limit_execution_time=0.5)
    clock.set(START + timedelta(hours=4))
    (fire,) = scheduler.step()
    assert Task.get_task(task_id=fire.task_id).status == "queued"
    clock.advance(31 * 60)
    scheduler.step()
    assert Task.get_task(task_id=fire.task_id).status == "stopped"


def test_a_missing_queue_is_a_skip_that_says_how_to_create_it(
    store: TaskStore, echo: Task, clock: ManualClock
) -> None:
    scheduler = TaskScheduler(clock=clock)
    scheduler.add_task(schedule_task_id=echo.id, queue="nightly", minute=5)
    clock.advance(5 * 60)
    (fire,) = scheduler.step()
    assert not fire.launched and "taskmill queues create nightly" in fire.skipped


def test_entries_are_keyed_by_name_and_can_be_removed(
    store: TaskStore, echo: Task, clock: ManualClock
) -> None:
    def job() -> None:
        pass

    scheduler = TaskScheduler(clock=clock)
    scheduler.add_task(schedule_task_id=echo.id, queue="jobs", minute=5)
    scheduler.add_task(schedule_function=job, hour=2)
    scheduler.add_task(schedule_function=job, hour=3)  # same name: replaces
    assert [(j.name, j.hour) for j in scheduler.get_scheduled_tasks()] == [(echo.id, None), ("job", 3)]
    assert scheduler.remove_task(job) and scheduler.remove_task(echo)
    assert scheduler.get_scheduled_tasks() == [] and not scheduler.remove_task("nothing")


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"schedule_function": print, "schedule_task_id": "x", "minute": 1}, "not both"),
        ({"schedule_task_id": "x", "minute": 1}, "needs queue="),
        ({"schedule_function": print}, "was not provided"),
        ({"schedule_function": print, "cron": "0 2 * * *", "hour": 1}, "not both"),
        ({"schedule_function": print, "minute": 1, "timezone": "Nowhere/City"}, "unknown time zone"),
        ({"schedule_function": print, "minute": 1, "missed_runs": "burst"}, "missed_runs"),
    ],
)
def test_bad_entries_are_refused_when_added(
    store: TaskStore, clock: ManualClock, kw: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        TaskScheduler(clock=clock).add_task(**kw)  # type: ignore[arg-type]


def test_a_second_copy_waits_for_the_lease_to_lapse(store: TaskStore, clock: ManualClock) -> None:
    scheduler = TaskScheduler(clock=clock)
    held_until = clock.now() + 60
    scheduler.task.set_runtime_properties(
        {STATE_KEY: {"lease": {"owner": "elsewhere:1", "until": held_until}}}
    )
    scheduler.add_task(schedule_function=lambda: None, name="now", hour=1, execute_immediately=True)
    scheduler.run_until(clock.now() + 10 * 60)
    (first, *_) = events(scheduler)
    assert float(str(first["time"])) >= held_until  # nothing fired while the other copy held it
    assert "lease" not in scheduler.get_state()


def test_start_runs_until_stopped_with_the_real_clock(store: TaskStore) -> None:
    calls: list[int] = []
    scheduler = TaskScheduler()
    scheduler.add_task(
        schedule_function=lambda: calls.append(1), name="now", hour=1, execute_immediately=True
    )
    loop = threading.Thread(target=scheduler.start)
    loop.start()
    wait_for(lambda: calls, 10, "the immediate run")
    scheduler.stop()
    loop.join(10)
    assert not loop.is_alive()
    assert scheduler.task.status == "completed"
    assert "lease" not in scheduler.get_state()


def test_a_scheduled_pipeline_run_runs_as_a_new_run(
    tmp_path: Path,
    tm_home: Path,
    store: TaskStore,
    clock: ManualClock,
    agent: Callable[..., subprocess.Popen[str]],
) -> None:
    script = tmp_path / "pipe.py"
    script.write_text(
        textwrap.dedent(
            """
            from taskmill import PipelineController

            def double(x: int = 1) -> int:
                return x * 2

            pipe = PipelineController(name="etl", project="pipes", version="1.0")
            pipe.add_parameter("x", 3)
            pipe.add_function_step("double", double, function_kwargs={"x": "${pipeline.x}"})
            pipe.set_default_execution_queue("services")
            pipe.start(queue=None)  # records a draft run
            """
        )
    )
    store.create_queue("services")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKMILL_")}
    env["TASKMILL_HOME"] = str(tm_home)
    made = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, env=env
    )
    assert made.returncode == 0, made.stderr
    (draft,) = Task.get_tasks(project_name="pipes/.pipelines/etl")
    agent("services")
    scheduler = TaskScheduler(clock=clock)
    scheduler.add_task(
        schedule_task_id=draft.id, queue="services", target_project="nightly", day=1, execute_immediately=True
    )
    (fire,) = scheduler.step()
    run = Task.get_task(task_id=fire.task_id)
    assert run.project == "nightly/.pipelines/etl" and "pipeline" in run.get_system_tags()
    run.wait_for_status(timeout=60)
    (step,) = Task.get_tasks(task_filter={"parent": run.id})
    assert step.name == "double" and step.status == "completed"
