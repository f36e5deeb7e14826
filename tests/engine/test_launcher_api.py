"""The launcher interface's shared semantics: StepTracker, TrackedLauncher and LauncherContext."""

from __future__ import annotations

import os
import sys

import pytest

from taskmill.core.pipeline import StepSpec
from taskmill.core.states import TaskStatus
from taskmill.engine.launcher_api import (
    LauncherContext,
    LaunchRequest,
    StepTracker,
    TrackedLauncher,
    exit_reason,
    is_local_address,
)
from taskmill.engine.nodes import Node
from taskmill.errors import ExecutionError
from taskmill.store.base import TaskStore

from .conftest import new_task


def request(task_id: str, done: list[str], kind: str = "function") -> LaunchRequest:
    return LaunchRequest(Node(spec=StepSpec(name="s", kind=kind)), task_id, None, done.append)


def test_a_step_that_ended_without_recording_an_end_fails_with_what_happened(engine_store: TaskStore) -> None:
    tracker = StepTracker(engine_store)
    crashed, finished = new_task(engine_store), new_task(engine_store)
    engine_store.set_status(crashed, TaskStatus.in_progress)
    engine_store.set_status(finished, TaskStatus.in_progress)
    engine_store.set_status(finished, TaskStatus.completed)
    done: list[str] = []
    tracker.track(request(crashed, done))
    tracker.track(request(finished, done))
    assert sorted(tracker.tracked()) == sorted([crashed, finished])

    tracker.ended(crashed, exit_reason(-9))
    tracker.ended(finished, exit_reason(0))
    tracker.ended(crashed, exit_reason(1))  # a second report changes nothing

    rec = engine_store.get_task(crashed)
    assert rec.status == TaskStatus.failed
    assert rec.status_message == "step process killed by signal 9"
    assert engine_store.get_task(finished).status == TaskStatus.completed  # its own end stands
    assert done == [crashed, finished] and tracker.tracked() == []


def test_abort_marks_stopped_and_the_exit_that_follows_keeps_it(engine_store: TaskStore) -> None:
    cancelled: list[str] = []

    class Recording(TrackedLauncher):
        def submit(self, request: LaunchRequest) -> None:
            if request.task_id == "nope":
                raise ExecutionError("cannot start")

        def cancel(self, task_id: str) -> None:
            cancelled.append(task_id)

    launcher = Recording(engine_store)
    task_id = new_task(engine_store)
    engine_store.set_status(task_id, TaskStatus.in_progress)
    done: list[str] = []
    launcher.launch(request(task_id, done))
    with pytest.raises(ExecutionError):
        launcher.launch(request("nope", done))
    assert launcher.running() == [task_id]  # a submission that raised is not tracked

    launcher.abort(task_id)
    assert engine_store.get_task(task_id).status == TaskStatus.stopped and cancelled == [task_id]
    launcher.ended(task_id, exit_reason(-15))
    rec = engine_store.get_task(task_id)
    assert rec.status == TaskStatus.stopped and rec.status_message == "aborted"
    assert done == [task_id]


def test_context_builds_the_step_command_and_environment(engine_store: TaskStore) -> None:
    ctx = LauncherContext(
        store=engine_store,
        store_url="sqlite:///x.db",
        targets={"function": "pkg.mod:run"},
        env={"PYTHONPATH": f"/b{os.pathsep}/a", "X": "1"},
        sys_path=("/a", "/c"),
    )
    req = request("t1", [])
    assert ctx.step_argv(req) == [sys.executable, "-m", "taskmill.engine.step_entry", "pkg.mod:run", "t1"]
    env = ctx.step_env()
    assert env["PYTHONPATH"].split(os.pathsep) == ["/a", "/c", "/b"] and env["X"] == "1"
    with pytest.raises(ExecutionError, match="no step process for kind 'task'"):
        ctx.step_argv(request("t2", [], kind="task"))

    assert ctx.single_machine_store
    with pytest.raises(ExecutionError, match=r"single-machine.*TASKMILL_STORE"):
        ctx.refuse_single_machine_store("the Dask cluster at tcp://10.1.2.3:8786")
    LauncherContext(
        store=engine_store, store_url="http://server:8080", targets={}
    ).refuse_single_machine_store("x")


@pytest.mark.parametrize(
    ("address", "local"),
    [
        (None, True),
        ("auto", True),
        ("tcp://127.0.0.1:8786", True),
        ("localhost:6379", True),
        ("tcp://10.0.0.5:8786", False),
        ("ray://head.example:10001", False),
    ],
)
def test_local_addresses(address: str | None, local: bool) -> None:
    assert is_local_address(address) is local
