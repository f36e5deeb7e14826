"""Run modes, the one request launchers take, and the queue and inline launchers on a real store."""

from __future__ import annotations

import dataclasses
import threading

import pytest

from taskmill.core.pipeline import StepSpec
from taskmill.core.states import TaskStatus
from taskmill.engine.backend import Backend
from taskmill.engine.launchers import InlineLauncher, LaunchRequest, QueueLauncher, RunMode
from taskmill.engine.nodes import Node
from taskmill.errors import ExecutionError
from taskmill.store.base import TaskStore

from .conftest import new_task


class Calls:
    """A ``done``/``started`` callback that remembers the task ids and lets a test wait."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.event = threading.Event()

    def __call__(self, task_id: str) -> None:
        self.ids.append(task_id)
        self.event.set()


def node(name: str = "s", kind: str = "function") -> Node:
    return Node(spec=StepSpec(name=name, kind=kind))


def test_run_modes_parse_from_their_names_only() -> None:
    assert [RunMode.parse(m) for m in ("queue", "process", "debug")] == [
        RunMode.queue,
        RunMode.process,
        RunMode.debug,
    ]
    assert RunMode.remote == "remote"  # chosen by code, never named in TASKMILL_PIPELINE_MODE
    for bad in ("remote", "local", ""):
        with pytest.raises(ExecutionError, match=f"unknown pipeline mode '{bad}'"):
            RunMode.parse(bad)


def test_a_launch_request_is_one_frozen_value() -> None:
    request = LaunchRequest(node(), "t1", "q", Calls())
    assert request.started is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        request.queue = "other"  # type: ignore[misc]
    assert dataclasses.replace(request, queue=None).queue is None


def test_the_queue_launcher_enqueues_and_reports_start_and_end(engine_store: TaskStore) -> None:
    warnings: list[str] = []
    launcher = QueueLauncher(engine_store, warn=warnings.append)
    launcher.start()
    try:
        task_id = new_task(engine_store)
        done, started = Calls(), Calls()
        launcher.launch(LaunchRequest(node(), task_id, "default", done, started))
        assert engine_store.get_task(task_id).status == TaskStatus.queued
        assert "no agent serves queue 'default' yet" in warnings[0]
        claimed = engine_store.claim(["default"], "agent-1")  # what an agent does
        assert claimed is not None and claimed.id == task_id
        assert started.event.wait(5) and started.ids == [task_id]
        engine_store.set_status(task_id, TaskStatus.completed)
        assert done.event.wait(5) and done.ids == [task_id]
    finally:
        launcher.close()


def test_the_queue_launcher_needs_a_queue(engine_store: TaskStore) -> None:
    launcher = QueueLauncher(engine_store)
    with pytest.raises(ExecutionError, match="step 's' has no execution queue; pass execution_queue="):
        launcher.launch(LaunchRequest(node(), new_task(engine_store), None, Calls()))


def test_the_inline_launcher_calls_function_steps_only(engine_store: TaskStore) -> None:
    ran: list[str] = []
    launcher = InlineLauncher(lambda task_id, n: ran.append(task_id), engine_store, max_workers=2)
    try:
        done = Calls()
        launcher.launch(LaunchRequest(node(), "t1", None, done))
        assert done.event.wait(5) and ran == ["t1"] and done.ids == ["t1"]
        with pytest.raises(ExecutionError, match="runs function steps only"):
            launcher.launch(LaunchRequest(node(kind="task"), "t2", None, Calls()))
    finally:
        launcher.close()


def test_the_inline_launcher_waits_at_close_for_the_array_writes_its_steps_left(
    backend: Backend,
) -> None:
    import numpy as np

    from taskmill.engine.function_io import store_outputs

    producer = new_task(backend.store, "producer")
    backend.store.set_status(producer, TaskStatus.in_progress)

    def execute(task_id: str, _node: Node) -> None:
        store_outputs(backend, task_id, {"arr": np.ones(1 << 22)}, keep_in_memory=True, complete=True)

    launcher = InlineLauncher(execute, backend.store, max_workers=1)
    done = Calls()
    launcher.launch(LaunchRequest(node(), producer, None, done))
    assert done.event.wait(30)
    launcher.close()  # the run is over: its artifacts are on disk, hashed
    (record,) = backend.store.get_artifacts(producer)
    assert record.hash.startswith("sha256:") and record.size == (1 << 22) * 8 + 128
