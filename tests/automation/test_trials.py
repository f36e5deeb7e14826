"""Trial runners: the local command of a recorded script, function trials that fail."""

from __future__ import annotations

import sys
import time
from typing import Any

from taskmill import Task
from taskmill.automation.job import ClearmlJob
from taskmill.automation.trials import FunctionRunner, LocalRunner, TrialSpec
from taskmill.store.base import TaskStore


def test_the_local_command_runs_the_recorded_script(store: TaskStore, quadratic: Task) -> None:
    argv, cwd = LocalRunner.command(ClearmlJob(quadratic.id).task)
    assert (
        argv[0] == sys.executable
        and argv[1].endswith("quadratic.py")
        and cwd == str(quadratic.data.script.working_dir)
    )


def test_a_raising_trial_function_fails_its_task(store: TaskStore) -> None:
    def broken(task: Task, params: dict[str, Any]) -> None:
        raise ValueError(f"bad x {params['General/x']}")

    runner = FunctionRunner(TrialSpec(base_task_id=None, project="hpo", parent=None, tags=["t"]), broken)
    trial = runner.start(0, "broken", {"General/x": 2})
    runner.close(10)
    assert trial.task.status == "failed" and trial.task.get_tags() == ["t"]
    assert "ValueError: bad x 2" in trial.task.data.status_reason


def test_a_stopped_function_trial_keeps_its_stopped_status(store: TaskStore) -> None:
    def patient(task: Task, params: dict[str, Any]) -> None:
        while task.status == "in_progress":
            time.sleep(0.01)

    runner = FunctionRunner(TrialSpec(base_task_id=None, project="hpo", parent=None, tags=[]), patient)
    trial = runner.start(0, "patient", {})
    runner.stop(trial)
    runner.close(10)
    assert trial.task.status == "stopped" and not trial.handle.is_alive()
