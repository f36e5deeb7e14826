"""The DAG of a pipeline: build and validate it, walk it, and track a run's scheduling progress.

Belongs here: step names and their parent links only (the graph is agnostic of step specs), the
checks a graph must pass (legal and unique names, known parents, no self-links, no cycles), the
queries the engine and UI need (topological order, children, roots, leaves, ancestors,
descendants), and :class:`DagProgress`, the pure bookkeeping behind the event-driven scheduler.

Not here: what a step runs, references (:mod:`taskmill.core.refs` derives implicit parents, the
caller merges them in), threads, clocks, or the store. The engine wraps :class:`DagProgress`.

Everything is plain dicts and tuples keyed by step name, and every operation is linear in the
nodes and edges it touches, so 100,000-step pipelines build in well under a second.
"""

from __future__ import annotations

import difflib
import graphlib
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum

from taskmill.core.refs import PIPELINE
from taskmill.errors import CycleError, SpecError

# Characters that would make a step name ambiguous inside ``${step.kind...}`` references
# (and control characters, which no UI shows properly).
_ILLEGAL_CHARS = re.compile(r"[.${}\\\x00-\x1f\x7f]")

# How many problems and known names an error message lists before it says "... more".
_LIST_LIMIT = 5


def check_step_name(name: str) -> None:
    """Reject a step name that cannot be used in a pipeline.

    A step name is a non-empty string without surrounding whitespace, without ``.``, ``$``,
    ``{``, ``}``, ``\\`` or control characters (they would break ``${step...}`` references), and
    is not the reserved ``pipeline``.

    Raises:
        SpecError: The name is not usable; the message says why and what would work.
    """
    if not isinstance(name, str) or not name:
        raise SpecError(f"step name {name!r} is empty or not a string; use a name like 'stage_data'")
    if name != name.strip():
        raise SpecError(f"step name {name!r} has leading or trailing whitespace; use {name.strip()!r}")
    bad = _ILLEGAL_CHARS.search(name)
    if bad:
        raise SpecError(
            f"step name {name!r} contains {bad.group(0)!r}; step names may not contain '.', '$', '{{', "
            f"'}}', '\\' or control characters, because ${{step...}} references could not name them "
            f"(use e.g. {_ILLEGAL_CHARS.sub('_', name)!r})"
        )
    if name == PIPELINE:
        raise SpecError(
            f"step name '{PIPELINE}' is reserved for ${{{PIPELINE}.param}} references; pick another name"
        )


class DagBuilder:
    """Collects steps one at a time (as ``add_step`` calls arrive) and builds the :class:`Dag`.

    Per-step problems (bad name, duplicate, self-dependency) are raised by :meth:`add` at once;
    whole-graph problems (unknown parents, cycles) by :meth:`build`, since parents may be added
    after their children.
    """

    __slots__ = ("_implied", "_parents")

    def __init__(self) -> None:
        self._parents: dict[str, tuple[str, ...]] = {}
        # (step, parent) pairs that came only from ${...} references: named as such in errors.
        self._implied: set[tuple[str, str]] = set()

    def add(self, name: str, parents: Iterable[str] = (), *, implied: Iterable[str] = ()) -> None:
        """Add a step with its explicit parents and the parents implied by its references.

        The two parent lists are merged (ClearML merges explicit ``parents`` with the referenced
        steps), keeping first-seen order and dropping repeats.

        Raises:
            SpecError: Illegal or reserved name, a duplicate step, or a step that is its own parent.
        """
        check_step_name(name)
        if name in self._parents:
            raise SpecError(f"step '{name}' is already in the pipeline; step names must be unique")
        explicit = tuple(dict.fromkeys(parents))
        merged = tuple(dict.fromkeys((*explicit, *implied)))
        if name in merged:
            how = "" if name in explicit else " (through a ${...} reference to itself)"
            raise SpecError(f"step '{name}' lists itself as a parent{how}; remove it from its parents")
        for parent in merged[len(explicit) :]:
            self._implied.add((name, parent))
        self._parents[name] = merged

    def __contains__(self, name: object) -> bool:
        return name in self._parents

    def __len__(self) -> int:
        return len(self._parents)

    def build(self) -> Dag:
        """Check the whole graph and return it.

        Raises:
            SpecError: Some steps name parents that are not in the pipeline (each is listed with
                close matches).
            CycleError: Steps depend on each other in a loop (the loop is printed).
        """
        parents = self._parents
        children: dict[str, list[str]] = {name: [] for name in parents}
        unknown: list[tuple[str, str]] = []
        for name, plist in parents.items():
            for parent in plist:
                kids = children.get(parent)
                if kids is None:
                    unknown.append((name, parent))
                else:
                    kids.append(name)
        if unknown:
            raise SpecError(self._unknown_message(unknown))
        order = _topological_order(parents, children)
        return Dag(dict(parents), {name: tuple(kids) for name, kids in children.items()}, order)

    def _unknown_message(self, unknown: list[tuple[str, str]]) -> str:
        lines = []
        names = list(self._parents)
        for step, parent in unknown[:_LIST_LIMIT]:
            close = difflib.get_close_matches(parent, names, n=3)
            hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
            source = " from a ${...} reference" if (step, parent) in self._implied else ""
            lines.append(f"step '{step}' has unknown parent '{parent}'{source}{hint}")
        more = f"; and {len(unknown) - _LIST_LIMIT} more" if len(unknown) > _LIST_LIMIT else ""
        return "; ".join(lines) + more + "; add the missing steps or fix the parent names"


def _topological_order(
    parents: Mapping[str, tuple[str, ...]], children: Mapping[str, list[str]]
) -> tuple[str, ...]:
    # Kahn's algorithm in plain Python is several times faster than graphlib on 100k nodes; graphlib
    # is used only once a cycle is known to exist, to find and print it.
    waiting = {name: len(plist) for name, plist in parents.items()}
    order = [name for name, count in waiting.items() if count == 0]
    for name in order:  # `order` grows while we walk it: it doubles as the FIFO queue
        for child in children[name]:
            waiting[child] -= 1
            if waiting[child] == 0:
                order.append(child)
    if len(order) < len(parents):
        # A dict, not a set: insertion order keeps the reported loop the same from run to run.
        stuck = {name: i for i, (name, count) in enumerate(waiting.items()) if count > 0}
        raise CycleError(_cycle_message(parents, stuck))
    return tuple(order)


def _cycle_message(parents: Mapping[str, tuple[str, ...]], stuck: Mapping[str, int]) -> str:
    """Describe one loop among the ``stuck`` steps (mapped to the position they were added at)."""
    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
    for name in stuck:
        sorter.add(name, *(p for p in parents[name] if p in stuck))
    try:
        sorter.prepare()
    except graphlib.CycleError as exc:
        # graphlib lists the loop along parent -> child links, first node repeated at the end.
        # Start the printout at the loop's earliest-added step, as people read their pipeline.
        loop_steps: list[str] = list(exc.args[1][:-1])
        first = min(range(len(loop_steps)), key=lambda i: stuck[loop_steps[i]])
        names = [*loop_steps[first:], *loop_steps[:first], loop_steps[first]]
        if len(names) > 2 * _LIST_LIMIT + 1:  # a loop through thousands of steps stays one line
            hidden = len(names) - 2 * _LIST_LIMIT
            names = [*names[:_LIST_LIMIT], f"... ({hidden} more)", *names[-_LIST_LIMIT:]]
        loop = " -> ".join(names)
        return (
            f"steps depend on each other in a loop: {loop} (each step waits for the one before it); "
            "remove one of these parent links or the ${...} reference that implies it"
        )
    # Unreachable: Kahn's algorithm only gets stuck on a cycle. Kept so the error is never empty.
    return f"steps depend on each other in a loop among: {', '.join(sorted(stuck))}"


class Dag:
    """A validated, immutable pipeline graph: step names and parent -> child links.

    Build it with :class:`DagBuilder` or :meth:`from_parents`; the constructor trusts its input.
    Iteration and :attr:`names` follow the order steps were added; :attr:`order` is topological.
    """

    __slots__ = ("_children", "_order", "_parents")

    def __init__(
        self,
        parents: dict[str, tuple[str, ...]],
        children: dict[str, tuple[str, ...]],
        order: tuple[str, ...],
    ) -> None:
        self._parents = parents
        self._children = children
        self._order = order

    @classmethod
    def from_parents(cls, parents: Mapping[str, Iterable[str]]) -> Dag:
        """Build and validate a graph from ``{step: parents}`` (every step must be a key).

        Raises:
            SpecError: Bad names, self-dependencies or unknown parents.
            CycleError: A dependency loop.
        """
        builder = DagBuilder()
        for name, plist in parents.items():
            builder.add(name, plist)
        return builder.build()

    def __len__(self) -> int:
        return len(self._parents)

    def __contains__(self, name: object) -> bool:
        return name in self._parents

    def __iter__(self) -> Iterator[str]:
        return iter(self._parents)

    def __repr__(self) -> str:
        return f"Dag({len(self)} steps, {self.edge_count} links)"

    @property
    def names(self) -> tuple[str, ...]:
        """Step names in the order they were added."""
        return tuple(self._parents)

    @property
    def order(self) -> tuple[str, ...]:
        """Step names in a topological order: every step after all its parents (deterministic)."""
        return self._order

    @property
    def edge_count(self) -> int:
        """Number of parent -> child links."""
        return sum(len(plist) for plist in self._parents.values())

    def parents(self, name: str) -> tuple[str, ...]:
        """The direct parents of ``name`` (explicit first, then reference-implied)."""
        return self._parents[self._known(name)]

    def children(self, name: str) -> tuple[str, ...]:
        """The steps that list ``name`` as a direct parent, in the order they were added."""
        return self._children[self._known(name)]

    @property
    def roots(self) -> tuple[str, ...]:
        """Steps without parents, in the order they were added."""
        return tuple(name for name, plist in self._parents.items() if not plist)

    @property
    def leaves(self) -> tuple[str, ...]:
        """Steps without children, in the order they were added."""
        return tuple(name for name, kids in self._children.items() if not kids)

    def descendants(self, name: str) -> set[str]:
        """Every step reachable from ``name`` through child links (``name`` excluded)."""
        return _reach(self._known(name), self._children)

    def ancestors(self, name: str) -> set[str]:
        """Every step ``name`` depends on, directly or not (``name`` excluded)."""
        return _reach(self._known(name), self._parents)

    def to_parents(self) -> dict[str, list[str]]:
        """``{step: [parents]}`` in insertion order: the JSON-able form (``from_parents`` inverts it)."""
        return {name: list(plist) for name, plist in self._parents.items()}

    def _known(self, name: str) -> str:
        if name not in self._parents:
            close = difflib.get_close_matches(name, list(self._parents), n=3)
            hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise ValueError(f"no step named '{name}' in this pipeline{hint}")
        return name


def _reach(start: str, links: Mapping[str, tuple[str, ...]]) -> set[str]:
    seen: set[str] = set()
    stack = [start]
    while stack:
        for nxt in links[stack.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


class NodeState(StrEnum):
    """Where a step stands in :class:`DagProgress` (scheduling only, not the task's status)."""

    PENDING = "pending"  #: waiting for parents
    READY = "ready"  #: handed to the engine by start()/complete(); launching or running
    DONE = "done"  #: completed, cached, or already done before the run (resume)
    FAILED = "failed"  #: ended badly (failed or aborted), after any retries
    SKIPPED = "skipped"  #: will never run: a blocking ancestor failed, or a callback skipped it


@dataclass(frozen=True, slots=True)
class FailOutcome:
    """What :meth:`DagProgress.fail` changed.

    Attributes:
        skipped: Descendants that will never run (only when children are skipped).
        ready: Children that became ready (only when the failure lets children run on).
    """

    skipped: list[str]
    ready: list[str]


class DagProgress:
    """Which steps of one run may start now: the pure state behind the event-driven scheduler.

    Semantics follow ClearML's controller: a step starts once all its parents are *released*; a
    parent is released when it completes, or when it fails or is aborted with
    ``skip_children=False``. A failure with ``skip_children=True`` (ClearML's default) skips every
    descendant that has not run, and they never become ready. Already-done steps (resume, cache)
    never block their children, and are never re-run or skipped.

    Each call costs O(links it touches), so driving a whole run costs O(steps + links). Not
    thread-safe: the engine serialises calls.

    Typical use::

        progress = DagProgress(dag, done=resumed)
        launch(progress.start())
        # on each step end:
        launch(progress.complete(name))            # or:
        outcome = progress.fail(name, skip_children=node.skip_children_on_fail)
        mark_skipped(outcome.skipped); launch(outcome.ready)
    """

    __slots__ = ("_added", "_dag", "_open", "_released_failed", "_started", "_state", "_waiting")

    def __init__(self, dag: Dag, done: Iterable[str] = ()) -> None:
        """Track a run of ``dag``; ``done`` steps count as already completed (see :meth:`mark_done`)."""
        self._dag = dag
        self._added: dict[str, list[str]] = {}  # children of steps added with add(), per parent
        self._released_failed: set[str] = set()  # failed steps that let their children run on
        self._state: dict[str, NodeState] = dict.fromkeys(dag._parents, NodeState.PENDING)
        self._waiting: dict[str, int] = {}
        self._started = False
        self._open = len(dag)  # steps that are PENDING or READY
        self.mark_done(*done)

    def mark_done(self, *names: str) -> None:
        """Record steps as done before :meth:`start` (resumed run, or cache hits found up front).

        Raises:
            RuntimeError: The run has already started.
            ValueError: A name is not a step of the DAG.
        """
        if self._started:
            raise RuntimeError("mark_done() must be called before start(); use complete() afterwards")
        for name in names:
            if self._state[self._known(name)] is NodeState.PENDING:
                self._state[name] = NodeState.DONE
                self._open -= 1

    def start(self) -> list[str]:
        """Begin the run; return the steps ready at once (in the order steps were added).

        Raises:
            RuntimeError: Called twice.
        """
        if self._started:
            raise RuntimeError("start() was already called for this run")
        self._started = True
        state, done, pending = self._state, NodeState.DONE, NodeState.PENDING
        ready: list[str] = []
        for name, plist in self._dag._parents.items():
            count = 0
            for parent in plist:
                if state[parent] is not done:
                    count += 1
            self._waiting[name] = count
            if count == 0 and state[name] is pending:
                ready.append(name)
        for name in ready:
            state[name] = NodeState.READY
        return ready

    def add(self, name: str, parents: Iterable[str] = (), *, done: bool = False) -> NodeState:
        """Add a step to a started run (pipelines whose steps appear as code runs, e.g. the decorator).

        The step's parents must already be known. Returns its state: READY when every parent is
        released (it is handed out now: the caller launches it), SKIPPED when a parent failed and
        skipped its children or was skipped itself, else PENDING (a later complete() releases it).
        Costs O(parents).

        With ``done`` the step is recorded as already done (a resumed run's finished step): it is
        never handed out, and it does not hold back its children.

        Raises:
            SpecError: Bad or duplicate name, or an unknown parent.
            RuntimeError: The run has not started.
        """
        if not self._started:
            raise RuntimeError("add() is for a started run; build the Dag for steps known up front")
        check_step_name(name)
        if name in self._state:
            raise SpecError(f"step '{name}' already exists in this run; step names must be unique")
        plist = list(dict.fromkeys(parents))
        for parent in plist:
            if parent not in self._state:
                raise SpecError(f"step '{name}': parent '{parent}' is not a step of this run")
        state = self._state
        if done:
            state[name] = NodeState.DONE
            self._waiting[name] = 0
            return NodeState.DONE
        for parent in plist:
            if state[parent] is NodeState.SKIPPED or (
                state[parent] is NodeState.FAILED and parent not in self._released_failed
            ):
                state[name] = NodeState.SKIPPED
                self._waiting[name] = 0
                return NodeState.SKIPPED
        open_parents = [p for p in plist if state[p] in (NodeState.PENDING, NodeState.READY)]
        for parent in open_parents:
            self._added.setdefault(parent, []).append(name)
        self._waiting[name] = len(open_parents)
        if open_parents:
            state[name] = NodeState.PENDING
            self._open += 1
            return NodeState.PENDING
        state[name] = NodeState.READY
        self._open += 1
        return NodeState.READY

    def complete(self, name: str) -> list[str]:
        """Mark a ready step done; return the children that became ready.

        Raises:
            ValueError: ``name`` is unknown or not ready (not handed out by start()/complete()).
        """
        self._take(name, NodeState.DONE)
        return self._release(name)

    def fail(self, name: str, *, skip_children: bool) -> FailOutcome:
        """Mark a ready step failed (or aborted) for good, after any retries.

        Args:
            name: The step.
            skip_children: ``True`` (ClearML's default): every descendant that has not run is
                skipped. ``False`` (``skip_children_on_fail``/``_on_abort`` off): the failure
                releases the children exactly like a completion.

        Returns:
            The newly skipped descendants (in breadth-first order) or the newly ready children.

        Raises:
            ValueError: ``name`` is unknown or not ready.
        """
        self._take(name, NodeState.FAILED)
        if skip_children:
            return FailOutcome(skipped=self._skip_below(name), ready=[])
        self._released_failed.add(name)
        return FailOutcome(skipped=[], ready=self._release(name))

    def skip(self, name: str) -> list[str]:
        """Skip a ready step without running it (``pre_execute_callback`` returned ``False``).

        The step and every descendant that has not run become skipped.

        Returns:
            The newly skipped descendants (``name`` itself excluded), breadth-first.

        Raises:
            ValueError: ``name`` is unknown or not ready.
        """
        self._take(name, NodeState.SKIPPED)
        return self._skip_below(name)

    @property
    def dag(self) -> Dag:
        """The graph this run follows."""
        return self._dag

    def state(self, name: str) -> NodeState:
        """The scheduling state of ``name``."""
        return self._state[self._known(name)]

    def steps_in(self, state: NodeState) -> list[str]:
        """Steps currently in ``state``, in the order they were added (O(steps))."""
        return [name for name, current in self._state.items() if current is state]

    @property
    def finished(self) -> bool:
        """True once no step is pending or ready: the run has nothing left to do."""
        return self._open == 0

    def _take(self, name: str, new: NodeState) -> None:
        current = self._state[self._known(name)]
        if current is not NodeState.READY:
            raise ValueError(
                f"step '{name}' is {current.value}, not ready; only steps handed out by start(), "
                "complete() or fail() can end"
            )
        self._state[name] = new
        self._open -= 1

    def _release(self, name: str) -> list[str]:
        ready: list[str] = []
        waiting, state = self._waiting, self._state
        for child in self._children_of(name):
            waiting[child] -= 1
            # A child marked done up front stays done: it is not re-run when a parent re-runs.
            if waiting[child] == 0 and state[child] is NodeState.PENDING:
                state[child] = NodeState.READY
                ready.append(child)
        return ready

    def _skip_below(self, name: str) -> list[str]:
        # Only pending steps are skipped. A step done up front does not block its own children,
        # so the walk does not go through it; its children are reached via other paths if blocked.
        skipped: list[str] = []
        state, pending = self._state, NodeState.PENDING
        frontier = [name]
        for current in frontier:
            for child in self._children_of(current):
                if state[child] is pending:
                    state[child] = NodeState.SKIPPED
                    skipped.append(child)
                    frontier.append(child)
        self._open -= len(skipped)
        return skipped

    def _children_of(self, name: str) -> Iterable[str]:
        static = self._dag._children.get(name, ())
        added = self._added.get(name)
        return (*static, *added) if added else static

    def _known(self, name: str) -> str:
        if name in self._state:
            return name
        return self._dag._known(name)  # raises with the list of known steps
