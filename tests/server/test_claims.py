"""Claims over HTTP survive a lost response: the retry returns the task the first attempt took.

The hook below lets the server commit the claim, then drops its answer on the way back (as a
server killed after its commit, or a broken connection, would): no task may be left in progress
without the claimer knowing it.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from taskmill.core.model import TaskRecord, new_id
from taskmill.core.states import TaskStatus
from taskmill.store.http import HttpTaskStore
from tests.server.harness import served


class DropFirstClaimAnswer(httpx.HTTPTransport):
    """A real transport that reads the first claim's answer, then acts as if the connection broke."""

    def __init__(self) -> None:
        super().__init__()
        self.dropped = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.url.path.endswith("/queues/claim") and not self.dropped:
            response.read()  # the server has answered: the claim is committed
            response.close()
            self.dropped += 1
            raise httpx.ReadError("connection reset while reading the response", request=request)
        return response


def test_a_claim_whose_answer_is_lost_is_retried_and_gets_the_same_task(tmp_path: Path) -> None:
    with served(f"sqlite:///{tmp_path}/store.db", tmp_path) as server:
        for i in range(3):
            t = server.store.create_task(TaskRecord(id=new_id(), name=f"t{i}", project="p"))
            server.store.enqueue(t.id, "default")
        hook = DropFirstClaimAnswer()
        remote = HttpTaskStore(server.url, transport=hook, retry_for=10)
        received = [remote.claim(["default"], "w1") for _ in range(3)]
        remote.close()
        assert hook.dropped == 1
        running = {t.id for t in server.store.find_tasks() if t.status == TaskStatus.in_progress}
        got = {t.id for t in received if t is not None}
        assert got == running and len(got) == 3  # every claimed task reached its claimer
        assert server.store.queue_entries("default") == []
