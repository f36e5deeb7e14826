"""Queue rules: defaulting, the check before steps are queued, and which queues taskmill creates."""

from __future__ import annotations

import pytest

from taskmill.core.stored import DEFAULT_QUEUE, SERVICES_QUEUE
from taskmill.engine.queues import (
    check_step_queues,
    ensure_standard_queue,
    no_queue_message,
    release_queue,
    served,
    step_queue,
)
from taskmill.errors import SpecError
from taskmill.store.base import TaskStore


def names(store: TaskStore) -> set[str]:
    return {q.name for q in store.list_queues()}


@pytest.fixture
def bare_store(engine_store: TaskStore) -> TaskStore:
    """A store whose standard queues were deleted (a new store has them)."""
    for name in (DEFAULT_QUEUE, SERVICES_QUEUE):
        engine_store.delete_queue(name, force=True)
    assert names(engine_store) == set()
    return engine_store


def test_a_step_queue_falls_back_to_the_default() -> None:
    assert step_queue("gpu", "cpu") == "gpu"
    assert step_queue(None, "cpu") == "cpu"
    assert step_queue("", "cpu") == ""  # given, even if empty: not replaced
    assert step_queue(None, None) is None


def test_the_check_lists_every_problem_and_creates_only_standard_queues(bare_store: TaskStore) -> None:
    steps = [("a", None), ("b", "gpu"), ("c", "${pipeline.q}"), ("d", DEFAULT_QUEUE)]
    with pytest.raises(SpecError) as err:
        check_step_queues(bare_store, steps, default=None)
    text = str(err.value)
    assert no_queue_message("a") in text
    assert (
        "step 'b' uses queue 'gpu', which does not exist; create it with `taskmill queues create gpu`" in text
    )
    assert "'c'" not in text and "'d'" not in text  # references are checked at launch; default is made
    assert DEFAULT_QUEUE in names(bare_store) and "gpu" not in names(bare_store)


def test_the_check_passes_with_a_default_queue(engine_store: TaskStore) -> None:
    engine_store.create_queue("gpu")
    check_step_queues(engine_store, [("a", None), ("b", "gpu")], default="gpu")


def test_standard_and_release_queues(bare_store: TaskStore) -> None:
    assert ensure_standard_queue(bare_store, SERVICES_QUEUE)
    assert not ensure_standard_queue(bare_store, "gpu")
    assert names(bare_store) == {SERVICES_QUEUE}
    assert release_queue(bare_store, None) == DEFAULT_QUEUE
    assert release_queue(bare_store, "review") == "review"  # the printed command must work
    assert names(bare_store) == {SERVICES_QUEUE, DEFAULT_QUEUE, "review"}


def test_served_means_an_agent_listens(engine_store: TaskStore) -> None:
    assert not served(engine_store, "gpu")
    engine_store.register_worker("agent-1", ["gpu"], {})
    assert served(engine_store, "gpu") and not served(engine_store, "cpu")


def test_many_problems_are_summarised() -> None:
    from taskmill.engine.queues import summarise

    text = summarise("the pipeline cannot be queued", [f"step 's{i}' has no queue" for i in range(202)])
    assert "202 problems; the first 5" in text and "... and 197 more" in text
    assert len(text.splitlines()) == 7
    short = summarise("x", ["a", "b"])
    assert short == "x:\n  - a\n  - b"
