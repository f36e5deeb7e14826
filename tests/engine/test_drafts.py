"""``DraftGate``: draft steps wait for a person to enqueue them, then run on the run's launcher."""

from __future__ import annotations

import threading

from taskmill.core.pipeline import StepSpec
from taskmill.core.states import TaskStatus
from taskmill.engine.drafts import DraftGate
from taskmill.engine.launchers import Launcher, LaunchRequest
from taskmill.engine.nodes import Node
from taskmill.store.base import TaskStore

from .conftest import new_task


class Recording(Launcher):
    """A local launcher that only remembers what it was asked to run."""

    def __init__(self) -> None:
        self.requests: list[LaunchRequest] = []
        self.launched = threading.Event()

    def launch(self, request: LaunchRequest) -> None:
        self.requests.append(request)
        self.launched.set()

    def abort(self, task_id: str) -> None:
        pass


def test_a_step_that_is_no_draft_passes_straight_on(engine_store: TaskStore) -> None:
    inner = Recording()
    gate = DraftGate(inner, engine_store, warn=lambda m: None, worker="test")
    request = LaunchRequest(Node(spec=StepSpec(name="s", kind="function")), "t1", None, lambda t: None)
    gate.launch(request)
    assert inner.requests == [request]


def test_a_draft_waits_until_enqueued_then_runs_here(engine_store: TaskStore) -> None:
    inner = Recording()
    warnings: list[str] = []
    gate = DraftGate(inner, engine_store, warn=warnings.append, worker="pipeline controller on test")
    task_id = new_task(engine_store)
    started = threading.Event()
    draft = Node(spec=StepSpec(name="review", kind="function", draft=True))
    try:
        gate.launch(LaunchRequest(draft, task_id, "review-queue", lambda t: None, lambda t: started.set()))
        assert inner.requests == []  # held
        assert f"taskmill queues enqueue {task_id} --queue review-queue" in warnings[0]
        assert "review-queue" in {q.name for q in engine_store.list_queues()}  # so that command works
        engine_store.enqueue(task_id, "review-queue")  # the person releases it
        assert inner.launched.wait(5) and started.wait(5)
        (request,) = inner.requests
        assert request.task_id == task_id and request.started is None  # its start was reported already
        record = engine_store.get_task(task_id)
        assert record.status == TaskStatus.in_progress and record.worker == "pipeline controller on test"
    finally:
        gate.close()
