"""The service task: found again by name (restarts), the current task under an agent, the state."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from taskmill import Task
from taskmill.automation import TaskScheduler, TriggerScheduler
from taskmill.automation.clock import ManualClock
from taskmill.automation.service import STATE_KEY, _alive, substitute
from taskmill.store.base import TaskStore
from tests.automation.conftest import wait_for


def test_the_service_task_is_found_again_by_project_and_name(store: TaskStore) -> None:
    first = TaskScheduler()
    assert (first.task.project, first.task.name, first.task.task_type) == ("DevOps", "Scheduler", "service")
    assert "scheduler" in first.task.get_system_tags()
    assert TaskScheduler().task.id == first.task.id
    other = TaskScheduler(force_create_task_name="Nightly", force_create_task_project="ops")
    assert other.task.id != first.task.id and other.task.project == "ops"
    trigger = TriggerScheduler()
    assert trigger.task.name == "Trigger Scheduler" and trigger.task.id != first.task.id


def test_the_current_task_is_used_when_there_is_one(tm_home: Path, tmp_path: Path) -> None:
    script = tmp_path / "cron.py"
    script.write_text(
        "from taskmill import Task\n"
        "from taskmill.automation import TaskScheduler\n"
        "task = Task.init(project_name='ops', task_name='cron')\n"
        "print('SAME', TaskScheduler().task.id == task.id)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKMILL_")}
    env["TASKMILL_HOME"] = str(tm_home)
    result = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert "SAME True" in result.stdout, result.stderr


def test_state_is_kept_in_a_runtime_property(store: TaskStore) -> None:
    scheduler = TaskScheduler()
    scheduler.add_task(schedule_function=print, name="p", minute=5)
    scheduler.step()
    stored = Task.get_task(task_id=scheduler.task.id).get_runtime_properties()[STATE_KEY]
    assert isinstance(stored, dict) and set(stored["jobs"]) == {"p"}  # type: ignore[arg-type]
    assert scheduler.get_state() == stored


def test_placeholders_are_replaced_in_strings_only() -> None:
    assert substitute("s3://b/${dataset.id}/x", "${dataset.id}", "abc") == "s3://b/abc/x"
    assert substitute(3, "${dataset.id}", "abc") == 3


SERVICE = """
import sys
from pathlib import Path
from taskmill.automation import TaskScheduler

def tick() -> None:
    with open(Path(__file__).with_name("ticks.txt"), "a") as f:
        f.write("tick\\n")

scheduler = TaskScheduler(force_create_task_name="Nightly", sync_frequency_minutes=0.02)
scheduler.add_task(schedule_function=tick, name="tick", day=1, execute_immediately=True)
scheduler.start_remotely(queue="services")
"""


def test_start_remotely_runs_on_a_services_agent_and_a_restart_does_not_refire(
    tm_home: Path, tmp_path: Path, store: TaskStore, agent: Callable[..., subprocess.Popen[str]]
) -> None:
    script = tmp_path / "service.py"
    script.write_text(SERVICE)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKMILL_")}
    env["TASKMILL_HOME"] = str(tm_home)
    handed = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert handed.returncode == 0, handed.stderr
    (service,) = Task.get_tasks(project_name="DevOps", task_name="Nightly")
    assert service.status == "queued" and service.data.queue == "services"
    ticks = tmp_path / "ticks.txt"
    agent("services")
    wait_for(ticks.exists, 30, "the scheduler to run under the agent")

    def tables() -> int:
        return sum(1 for p in service.get_reported_plots() if p["title"] == "Schedule Tasks")

    wait_for(lambda: tables() >= 1, 10, "the first step's tables")
    lease = service.get_runtime_properties()[STATE_KEY]["lease"]  # type: ignore[index,call-overload]
    owner = str(lease["owner"])
    service.mark_stopped(force=True)  # aborted, as from the web UI: the agent ends the process
    wait_for(lambda: not _alive(owner), 20, "the agent to end the scheduler's process")
    Task.enqueue(service, queue_name="services", force=True)  # the restart takes over the dead lease
    wait_for(lambda: tables() >= 2, 30, "the restarted scheduler's first step")
    assert ticks.read_text() == "tick\n"  # the immediate run happened once, before the restart
    service.mark_stopped(force=True)


def test_the_lease_of_a_dead_process_of_this_host_lapses_at_once(
    store: TaskStore, clock: ManualClock
) -> None:
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    owner = f"{socket.gethostname()}:{gone.stdout.strip()}"
    assert not _alive(owner) and _alive(f"{socket.gethostname()}:{os.getpid()}") and _alive("other-host:1")
    scheduler = TaskScheduler(clock=clock)
    scheduler.task.set_runtime_properties(
        {STATE_KEY: {"lease": {"owner": owner, "until": clock.now() + 3600}}}
    )
    scheduler.add_task(schedule_function=lambda: None, name="now", hour=1, execute_immediately=True)
    scheduler.run_until(clock.now() + 60)
    (first, *_) = scheduler.get_state()["events"]
    assert first["time"] == clock.now() - 60  # fired at once: no wait for the hour-long lease
