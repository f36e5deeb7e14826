"""Recently viewed runs' node states, reused until the run changes.

Loading a run's nodes parses its stored definition and every live node (about 0.3 s for 10,000
steps). The run page, its graph, timeline and step panels all need them, often within seconds
of each other, so :class:`RunCache` keeps the last few loads and reuses one as long as the event
feed has nothing new for that run (one indexed query). A live run changes all the time and is
simply reloaded; a finished run is loaded once. The run's child tasks (one per attempt of a step:
their start and end are the steps' true run times) are kept the same way once the run has ended.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

from taskmill.core.model import TaskRecord
from taskmill.runs.processes import controller_info
from taskmill.runs.records import get_run
from taskmill.runs.views import NodeData, RunDetail, load_nodes, run_summary, settled_nodes, step_view
from taskmill.store.base import TaskFilter, TaskStore

#: Runs kept.
SIZE = 8


class RunCache:
    """Node lists of recently viewed runs (instance state; thread-safe)."""

    def __init__(self, store: TaskStore, size: int = SIZE) -> None:
        self._store = store
        self._size = size
        self._runs: OrderedDict[str, tuple[int, list[tuple[str, NodeData]]]] = OrderedDict()
        self._tasks: OrderedDict[str, tuple[tuple[str, float], list[TaskRecord]]] = OrderedDict()
        self._lock = threading.Lock()

    def tasks(self, run: TaskRecord) -> list[TaskRecord]:
        """The run's child tasks (every attempt of every step; blocking). Read afresh while the
        run goes; kept once it has ended, until its record changes (a resume)."""
        if not run.status.is_final:
            return self._store.find_tasks(TaskFilter(parent=run.id))
        version = (run.status.value, run.last_update)
        with self._lock:
            cached = self._tasks.get(run.id)
        if cached is not None and cached[0] == version:
            return cached[1]
        found = self._store.find_tasks(TaskFilter(parent=run.id))
        with self._lock:
            self._tasks[run.id] = (version, found)
            self._tasks.move_to_end(run.id)
            while len(self._tasks) > self._size:
                self._tasks.popitem(last=False)
        return found

    def nodes(self, run: TaskRecord) -> list[tuple[str, NodeData]]:
        """The run's steps (definition overlaid with live state, topological order).

        Callers must not modify the returned dicts (they are shared)."""
        with self._lock:
            cached = self._runs.get(run.id)
        if cached is not None:
            cursor, nodes = cached
            if not self._store.events_since(cursor, limit=1, task_id=run.id):
                with self._lock:
                    self._runs.move_to_end(run.id)
                return nodes
        cursor = self._store.last_event_id()  # before reading: a later change invalidates the load
        nodes = settled_nodes(run, load_nodes(self._store, run))
        with self._lock:
            self._runs[run.id] = (cursor, nodes)
            self._runs.move_to_end(run.id)
            while len(self._runs) > self._size:
                self._runs.popitem(last=False)
        return nodes

    def detail(self, run_id: str, now: float | None = None) -> RunDetail:
        """What :func:`taskmill.runs.commands.run_detail` returns, from cached nodes."""
        run = get_run(self._store, run_id)
        nodes = self.nodes(run)
        now = time.time() if now is None else now
        params = {p.name: p.value for p in self._store.get_params(run.id) if p.section == "Args"}
        steps = tuple(step_view(name, node, now) for name, node in nodes)
        return RunDetail(run_summary(run, nodes, now), run, params, steps, controller_info(run))
