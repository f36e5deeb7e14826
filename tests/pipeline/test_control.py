"""``RunHandle``: a run loop on its own thread, its result, and the controls on it."""

from __future__ import annotations

from pathlib import Path

import pytest

from taskmill.api.pipeline.control import RunHandle
from taskmill.artifacts.storage import ArtifactStore
from taskmill.core.model import TaskRecord, new_id
from taskmill.core.states import TaskStatus
from taskmill.engine.backend import Backend
from taskmill.engine.launchers import Launcher, LaunchRequest
from taskmill.engine.scheduler import PipelineRun, RunOptions, RunResult
from taskmill.engine.steps import RunContext, StepBuilder
from taskmill.store.base import TaskStore


class NoSteps(Launcher):
    """A launcher for runs without steps; ``broken`` makes the loop fail at start."""

    def __init__(self, broken: bool = False) -> None:
        self.broken = broken

    def start(self) -> None:
        if self.broken:
            raise RuntimeError("no workers")

    def launch(self, request: LaunchRequest) -> None:
        raise AssertionError("nothing to launch")

    def abort(self, task_id: str) -> None:
        pass


def handle_for(
    store: TaskStore, tmp_path: Path, launcher: Launcher, **options: bool
) -> tuple[RunHandle, list]:
    backend = Backend(store=store, artifacts=ArtifactStore(str(tmp_path / "a"), str(tmp_path / "c")))
    run_id = store.create_task(TaskRecord(id=new_id(), name="run", project="control")).id
    ctx = RunContext(run_id=run_id, step_project="control", params={})
    run = PipelineRun(
        backend, StepBuilder(backend, ctx), launcher, [], run_id=run_id, options=RunOptions(**options)
    )
    finished: list[RunResult] = []
    messages: list[str] = []
    handle = RunHandle(run, finish=finished.append, console=messages.append)
    return handle, finished, messages


def test_a_run_ends_and_reports_on_its_thread(store: TaskStore, tmp_path: Path) -> None:
    handle, finished, _ = handle_for(store, tmp_path, NoSteps())
    assert handle.elapsed() == -1.0
    handle.start()
    assert handle.wait(timeout=0.5) and not handle.is_running()
    assert handle.result == RunResult(TaskStatus.completed, "completed") and finished == [handle.result]
    assert handle.elapsed() >= 0.0
    assert handle.is_successful(fail_on_step_fail=True, fail_condition="all")
    with pytest.raises(ValueError, match="fail_condition must be"):
        handle.is_successful(fail_on_step_fail=True, fail_condition="some")


def test_a_controller_error_ends_the_run_failed(store: TaskStore, tmp_path: Path) -> None:
    handle, finished, messages = handle_for(store, tmp_path, NoSteps(broken=True))
    handle.start()
    assert handle.wait(timeout=0.5)
    assert handle.result is not None and handle.result.status == TaskStatus.failed
    assert messages == ["controller error: RuntimeError: no workers"] and finished == [handle.result]
    assert not handle.is_successful(fail_on_step_fail=False, fail_condition="all")
    assert handle.is_successful(fail_on_step_fail=False, fail_condition="aborted")  # failed is allowed there


def test_stop_ends_an_open_run(store: TaskStore, tmp_path: Path) -> None:
    handle, _, _ = handle_for(store, tmp_path, NoSteps(), open_ended=True)
    handle.start()
    assert not handle.wait(timeout=0.002)  # waits for steps that may still be added
    handle.stop(timeout=0.5, mark_aborted=True)
    assert handle.result is not None and handle.result.status == TaskStatus.stopped
