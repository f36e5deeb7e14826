"""Pure definitions of a pipeline: step specs, node statuses, failure behaviour.

A :class:`StepSpec` says what a step is (a cloned task, or a function) and how the pipeline treats
it; it is JSON-able so a run can be stored, shown, compared and resumed. Live state (status, task
ids, timings) lives on the engine's ``Node``; callables (callbacks, factories, the function
object) live beside the spec in the engine, never inside it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any

from taskmill.errors import InvalidTransitionError
from taskmill.types import JSONValue


class NodeStatus(StrEnum):
    """Status of a pipeline node as shown in the DAG (ClearML's node statuses).

    ``str()``, ``format()`` and ``repr()`` give the plain value, as ClearML's string statuses
    print (``{'load': 'completed'}``, not ``<...: 'completed'>``); it compares equal to it too.
    """

    def __repr__(self) -> str:
        return repr(self.value)

    pending = "pending"  #: waiting for parents
    queued = "queued"  #: its task exists and waits to run (queue, draft, launcher slot)
    running = "running"
    completed = "completed"
    failed = "failed"
    aborted = "aborted"
    cached = "cached"  #: an earlier identical run's task was reused
    skipped = "skipped"  #: will not run: a parent failed, a callback said no, or the run stopped

    @property
    def is_final(self) -> bool:
        """True once the node will not change again in this run."""
        return self in NODE_FINAL

    @property
    def is_success(self) -> bool:
        """Completed or cached (a cached step is a success: ClearML issue #1501 is fixed)."""
        return self in (NodeStatus.completed, NodeStatus.cached)


NODE_FINAL = frozenset(
    {NodeStatus.completed, NodeStatus.failed, NodeStatus.aborted, NodeStatus.cached, NodeStatus.skipped}
)

_N = NodeStatus
#: The node transition table. ``failed -> queued`` is a retry; resume re-enters from pending.
NODE_TRANSITIONS: dict[NodeStatus, frozenset[NodeStatus]] = {
    _N.pending: frozenset({_N.queued, _N.running, _N.cached, _N.skipped, _N.failed, _N.aborted}),
    _N.queued: frozenset({_N.running, _N.completed, _N.failed, _N.aborted, _N.skipped}),
    _N.running: frozenset({_N.completed, _N.failed, _N.aborted}),
    _N.failed: frozenset({_N.queued, _N.pending}),
    _N.aborted: frozenset({_N.queued, _N.pending}),
    _N.completed: frozenset({_N.pending}),
    _N.cached: frozenset({_N.pending}),
    _N.skipped: frozenset({_N.pending}),
}


def check_node_transition(step: str, current: NodeStatus, target: NodeStatus) -> None:
    """Raise InvalidTransitionError unless ``current -> target`` is allowed (same status is fine)."""
    if current != target and target not in NODE_TRANSITIONS[current]:
        allowed = tuple(sorted(s.value for s in NODE_TRANSITIONS[current]))
        raise InvalidTransitionError(f"step {step}", current.value, target.value, allowed)


@dataclass(frozen=True, slots=True)
class ContinueBehaviour:
    """What a failed or aborted step means for the pipeline and its children (ClearML semantics)."""

    continue_on_fail: bool = False
    continue_on_abort: bool = False
    skip_children_on_fail: bool = True
    skip_children_on_abort: bool = True

    @classmethod
    def resolve(
        cls, continue_on_fail: bool = False, behaviour: Mapping[str, bool] | None = None
    ) -> ContinueBehaviour:
        """ClearML's rule: with a ``continue_behaviour`` dict, missing keys default to True;
        without one, ``continue_on_fail`` (deprecated) sets the first flag and the rest default."""
        if behaviour is None:
            return cls(continue_on_fail=bool(continue_on_fail))
        known = {f.name for f in fields(cls)}
        unknown = set(behaviour) - known
        if unknown:
            raise ValueError(
                f"continue_behaviour has unknown keys {sorted(unknown)}; allowed: {sorted(known)}"
            )
        return cls(**{name: bool(behaviour.get(name, True)) for name in known})


@dataclass(frozen=True)
class StepSpec:
    """The definition of one step (JSON-able; see the module docstring for what is not here)."""

    name: str
    kind: str  #: ``task`` (clone a base task) or ``function``
    parents: tuple[str, ...] = ()
    queue: str | None = None
    time_limit: float | None = None  #: seconds of run time (ClearML's unit for steps)
    behaviour: ContinueBehaviour = field(default_factory=ContinueBehaviour)
    cache: bool = False
    retries: int | None = None  #: max retries when given as an int (a callable lives in the engine)
    parameters: dict[str, Any] = field(default_factory=dict)  #: ``Section/key`` -> value (refs allowed)
    configurations: dict[str, Any] = field(default_factory=dict)
    task_overrides: dict[str, Any] = field(default_factory=dict)
    monitor_metrics: tuple[tuple[tuple[str, str], tuple[str, str]], ...] = ()
    monitor_artifacts: tuple[tuple[str, str], ...] = ()
    monitor_models: tuple[tuple[str, str], ...] = ()
    recursively_parse_parameters: bool = False
    stage: str | None = None
    task_type: str = "training"
    tags: tuple[str, ...] = ()
    output_uri: str | None = None
    draft: bool = False
    # task steps
    base_task_id: str | None = None
    base_task_project: str | None = None
    base_task_name: str | None = None
    clone_base_task: bool = True
    # function steps
    function_name: str = ""
    function_module: str = ""
    function_source: str = ""  #: the function's source plus helper and local functions it calls
    function_kwargs: dict[str, Any] = field(default_factory=dict)  #: literals and ``${...}`` refs
    function_return: tuple[str, ...] = ()
    packages: tuple[str, ...] = ()
    project_name: str | None = None
    task_name: str | None = None
    # where it runs (any kind of step)
    #: what it asks of the machine, as recorded in its task's ``runtime["resources"]``
    #: (:meth:`taskmill.core.resources.Resources.to_record`; empty: nothing asked)
    resources: dict[str, float | int] = field(default_factory=dict)
    #: its container, recorded in its task's ``runtime["docker"]``
    #: (:func:`taskmill.core.resources.container_record`); None: none (a task step keeps its base's)
    docker: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, JSONValue]:
        """JSON-able form (object-valued kwargs must already be replaced by references)."""
        # A shallow copy: asdict() deep-copies every value, ~0.2 ms a step on big pipelines.
        data: dict[str, Any] = dict(self.__dict__)
        b = self.behaviour
        data["behaviour"] = {
            "continue_on_fail": b.continue_on_fail,
            "continue_on_abort": b.continue_on_abort,
            "skip_children_on_fail": b.skip_children_on_fail,
            "skip_children_on_abort": b.skip_children_on_abort,
        }
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StepSpec:
        """Inverse of :meth:`to_dict`."""
        known = {f.name for f in fields(cls)}
        kw = {k: v for k, v in data.items() if k in known}
        kw["behaviour"] = ContinueBehaviour(**dict(data.get("behaviour") or {}))
        for name in ("parents", "function_return", "packages", "tags", "monitor_artifacts", "monitor_models"):
            if name in kw and kw[name] is not None:
                kw[name] = tuple(tuple(x) if isinstance(x, list) else x for x in kw[name])
        if "monitor_metrics" in kw:
            kw["monitor_metrics"] = tuple((tuple(a), tuple(b)) for a, b in kw["monitor_metrics"])
        return cls(**kw)


def normalise_monitor_pairs(items: Sequence[Any] | None) -> tuple[tuple[str, str], ...]:
    """``['a', ('b', 'c')]`` -> ``(('a', 'a'), ('b', 'c'))`` (source name, name on the pipeline)."""
    out: list[tuple[str, str]] = []
    for item in items or ():
        if isinstance(item, str):
            out.append((item, item))
        else:
            src, dst = item
            out.append((str(src), str(dst)))
    return tuple(out)


def normalise_metric_pairs(
    items: Sequence[Any] | None,
) -> tuple[tuple[tuple[str, str], tuple[str, str]], ...]:
    """``[('t', 's')]`` or ``[(('t', 's'), ('t2', 's2'))]`` -> ((src title, series), (dst title, series))."""
    out: list[tuple[tuple[str, str], tuple[str, str]]] = []
    for item in items or ():
        first, second = item
        if isinstance(first, str):
            pair = (str(first), str(second))
            out.append((pair, pair))
        else:
            out.append(((str(first[0]), str(first[1])), (str(second[0]), str(second[1]))))
    return tuple(out)
