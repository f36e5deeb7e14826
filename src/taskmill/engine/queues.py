"""Queue rules of a run, in one place: which queue a step uses, the check before a run is
queued, which queues taskmill creates by itself, and whether an agent serves a queue.

* A step's queue is its own ``execution_queue``, else the pipeline's default (:func:`step_queue`).
* Before steps go to queues, every step needs a queue that exists (:func:`check_step_queues`):
  one error lists every problem. A queue that still holds a ``${...}`` reference is resolved at
  launch and checked then (:func:`no_queue_message` is the launch-time message).
* taskmill creates only the standard queues (``default`` for steps, ``services`` for controllers;
  ClearML Server ships both) when they are missing (:func:`ensure_standard_queue`); any other
  queue is created by a person (``taskmill queues create``), so a typo is an error, not a queue
  nobody serves.

Functions here read and write the store (blocking); creating a queue is idempotent.
"""

from __future__ import annotations

from collections.abc import Iterable

from taskmill.core.stored import DEFAULT_QUEUE, STANDARD_QUEUES
from taskmill.errors import SpecError
from taskmill.store.base import TaskStore


def step_queue(own: str | None, default: str | None) -> str | None:
    """The queue a step goes to: its own, else the pipeline's default (None: no queue)."""
    return own if own is not None else default


def no_queue_message(step: str) -> str:
    """What to tell a person whose step has no queue."""
    return (
        f"step '{step}' has no execution queue; pass execution_queue= or call set_default_execution_queue()"
    )


def ensure_standard_queue(store: TaskStore, name: str) -> bool:
    """Create ``name`` (idempotent) when it is a standard queue; False for any other name."""
    if name not in STANDARD_QUEUES:
        return False
    store.create_queue(name)
    return True


def release_queue(store: TaskStore, queue: str | None) -> str:
    """The queue a draft step is released to: its own, else ``default``; created when missing,
    because the command taskmill prints for releasing it names that queue."""
    name = queue or DEFAULT_QUEUE
    store.create_queue(name)
    return name


def check_step_queues(
    store: TaskStore, steps: Iterable[tuple[str, str | None]], *, default: str | None
) -> None:
    """Check ``(step name, own queue)`` pairs before steps go to queues; creates a missing
    standard queue. Raises one SpecError listing every step without a usable queue."""
    known = {q.name for q in store.list_queues()}
    problems = []
    for name, own in steps:
        queue = step_queue(own, default)
        if queue is None:
            problems.append(no_queue_message(name))
        elif "${" in queue or queue in known:
            continue
        elif ensure_standard_queue(store, queue):
            known.add(queue)
        else:
            problems.append(
                f"step '{name}' uses queue '{queue}', which does not exist; "
                f"create it with `taskmill queues create {queue}`"
            )
    if problems:
        raise SpecError(summarise("the pipeline cannot be queued", problems))


def summarise(headline: str, problems: list[str], *, shown: int = 5) -> str:
    """One error text for many problems: the count and the first ``shown`` (a run of 200
    steps without a queue is one short message, not 200 lines)."""
    if len(problems) <= shown:
        return f"{headline}:\n  - " + "\n  - ".join(problems)
    rest = len(problems) - shown
    return (
        f"{headline} ({len(problems)} problems; the first {shown}):\n  - "
        + "\n  - ".join(problems[:shown])
        + f"\n  ... and {rest} more"
    )


def served(store: TaskStore, queue: str) -> bool:
    """True when a registered agent serves ``queue``."""
    return any(queue in w.queues for w in store.list_workers())


def blocked_by_controller(store: TaskStore, queue: str, controller_id: str | None) -> list[str]:
    """The agents serving ``queue`` when each of them is busy running ``controller_id`` itself
    with no slot to spare: a step of that controller put on ``queue`` would wait forever (the
    controller runs on the agent its steps need). Empty when the queue has a free agent, has
    none at all, or ``controller_id`` is None. Blocking: one store call."""
    if not controller_id:
        return []
    serving = [w for w in store.list_workers() if queue in w.queues]
    if not serving:
        return []
    busy = [
        w.id for w in serving if w.task_id == controller_id and int(str(w.info.get("slots", 1) or 1)) <= 1
    ]
    return busy if len(busy) == len(serving) else []
