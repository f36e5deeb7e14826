"""The read model of pipeline runs: the views operations return, built from stored node states,
whether a run's controller process still runs, and typed parameter values parsed from text.

A run's steps are the nodes of its ``Pipeline`` configuration object overlaid with the live states
from :meth:`~taskmill.store.base.TaskStore.get_nodes` (live nodes are written only once they change,
so the definition fills in steps that have not started yet), in topological order.
:mod:`taskmill.api.pipeline.operations` is the public entry point; this module only shapes data.
"""

from __future__ import annotations

import json
import os
import re
import socket
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from taskmill.api.params import parse_like
from taskmill.api.pipeline.runs import PIPELINE_CONFIG
from taskmill.core.dag import Dag
from taskmill.core.model import Param, TaskRecord
from taskmill.core.pipeline import NodeStatus
from taskmill.core.states import TaskStatus
from taskmill.errors import NotFoundError, SpecError
from taskmill.store.base import TaskStore
from taskmill.types import JSONValue

_RUN_NUMBER = re.compile(r" #\d+$")
_DONE = (NodeStatus.completed.value, NodeStatus.cached.value)
#: Seconds of clock difference tolerated when telling a reused pid from the run's controller.
_CLOCK_SLACK = 5.0

#: A stored node: ``Node.to_dict()`` of the engine.
NodeData = dict[str, JSONValue]


@dataclass(frozen=True)
class PipelineSummary:
    """One pipeline (a ``<project>/.pipelines/<name>`` project) and how its runs went."""

    project: str
    name: str
    runs: int
    last_run: float | None  #: when the newest run was created
    counts: dict[str, int]  #: runs per bucket of :data:`RUN_BUCKETS` (running, pending, ...)
    latest_version: str | None
    tags: tuple[str, ...]  #: tags of its runs, newest runs first

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return asdict(self)


@dataclass(frozen=True)
class StepView:
    """One step of a run, as its DAG shows it."""

    name: str
    status: str  #: a :class:`NodeStatus` value
    task_id: str | None
    started: float | None
    ended: float | None
    duration: float | None  #: None for cached steps (nothing ran in this run) and steps not started
    attempts: tuple[str, ...]
    parents: tuple[str, ...]
    stage: str | None
    cache: str  #: hit, miss, disabled, forced, or "" when no decision was recorded
    message: str
    kind: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return asdict(self)


@dataclass(frozen=True)
class RunSummary:
    """One run of a pipeline (a row of the runs table)."""

    id: str
    name: str
    project: str
    pipeline: str
    version: str
    status: TaskStatus
    message: str
    started: float | None
    ended: float | None
    duration: float | None
    done: int  #: steps completed or cached
    total: int
    tags: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {**asdict(self), "status": self.status.value}


@dataclass(frozen=True)
class ControllerInfo:
    """Where a run's controller process is (or was)."""

    pid: int | None
    host: str
    local: bool  #: recorded on this host
    alive: bool | None  #: None when it runs elsewhere (this host cannot tell)


@dataclass(frozen=True)
class RunDetail:
    """A run with its parameters and steps."""

    summary: RunSummary
    record: TaskRecord
    params: dict[str, JSONValue]
    steps: tuple[StepView, ...]
    controller: ControllerInfo

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            **self.summary.to_dict(),
            "params": dict(self.params),
            "steps": [s.to_dict() for s in self.steps],
            "controller": asdict(self.controller),
            "record": self.record.to_dict(),
        }


def pipeline_of(run: TaskRecord) -> tuple[str, str]:
    """``(project, pipeline name)`` of a run."""
    project, sep, name = run.project.rpartition("/.pipelines/")
    return (project, name) if sep else (run.project, _RUN_NUMBER.sub("", run.name))


def _strs(value: JSONValue) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def _num(value: JSONValue) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def load_nodes(store: TaskStore, run: TaskRecord) -> list[tuple[str, NodeData]]:
    """The run's steps: the stored definition overlaid with live states, in topological order."""
    definition: dict[str, NodeData] = {}
    for config in store.get_configs(run.id):
        if config.name == PIPELINE_CONFIG:
            try:
                data = json.loads(config.value)
            except ValueError:
                data = {}
            definition = (
                {str(k): v for k, v in data.items() if isinstance(v, dict)} if isinstance(data, dict) else {}
            )
    merged = {name: dict(node) for name, node in definition.items()}
    for name, node in store.get_nodes(run.id):
        merged[name] = {**merged.get(name, {}), **node}
    parents = {n: [p for p in _strs(d.get("parents")) if p in merged and p != n] for n, d in merged.items()}
    try:
        order: Sequence[str] = Dag.from_parents(parents).order
    except SpecError:  # a damaged record: show it in stored order rather than not at all
        order = list(merged)
    return [(name, merged[name]) for name in order]


def step_view(name: str, node: NodeData, now: float) -> StepView:
    """The view of one stored node (``now`` measures steps still running)."""
    status = str(node.get("status") or NodeStatus.pending.value)
    started, ended = _num(node.get("job_started")), _num(node.get("job_ended"))
    duration = None
    if status != NodeStatus.cached.value and started is not None:
        if ended is not None:
            duration = ended - started
        elif status == NodeStatus.running.value:
            duration = now - started
    cache = node.get("cache")
    stage = node.get("stage")
    return StepView(
        name=name,
        status=status,
        task_id=str(node["job_id"]) if node.get("job_id") else None,
        started=started,
        ended=ended,
        duration=duration,
        attempts=tuple(_strs(node.get("attempts"))),
        parents=tuple(_strs(node.get("parents"))),
        stage=str(stage) if stage else None,
        cache=str(cache.get("result") or "") if isinstance(cache, dict) else "",
        message=str(node.get("message") or ""),
        kind=str(node.get("kind") or ""),
    )


def run_summary(run: TaskRecord, nodes: list[tuple[str, NodeData]], now: float | None) -> RunSummary:
    """The summary of a run from its record and its :func:`load_nodes`."""
    now = time.time() if now is None else now
    duration = None
    if run.started is not None:
        end = run.completed if run.completed is not None else (None if run.status.is_final else now)
        duration = end - run.started if end is not None else None
    message = run.status_reason or run.status_message
    project, name = pipeline_of(run)
    return RunSummary(
        id=run.id,
        name=run.name,
        project=project,
        pipeline=name,
        version=str(run.runtime.get("version") or ""),
        status=run.status,
        message="" if message in (run.status.value, "started") else message,
        started=run.started,
        ended=run.completed,
        duration=duration,
        done=sum(1 for _, d in nodes if d.get("status") in _DONE),
        total=len(nodes),
        tags=run.tags,
    )


def task_ref(store: TaskStore, task_id: str) -> dict[str, JSONValue]:
    """Id, name and run of a task an explanation points at (so people can go look)."""
    try:
        rec = store.get_task(task_id)
    except NotFoundError:
        return {"id": task_id, "name": "", "deleted": True}
    ref: dict[str, JSONValue] = {"id": rec.id, "name": rec.name, "status": rec.status.value}
    if rec.parent:
        try:
            ref["run_id"], ref["run_name"] = rec.parent, store.get_task(rec.parent).name
        except NotFoundError:
            ref["run_id"] = rec.parent
    return ref


# -- controller processes -------------------------------------------------------------------------


def controller_info(run: TaskRecord) -> ControllerInfo:
    """Where the run's controller is, and whether it still runs (checked on this host only)."""
    raw = run.runtime.get("controller_pid")
    pid = int(raw) if isinstance(raw, (int, str)) and str(raw).isdigit() else None
    host = str(run.runtime.get("controller_host") or "")
    local = host == socket.gethostname()
    if not local:
        return ControllerInfo(pid, host, False, None)
    alive = pid is not None and pid_alive(pid) and not _started_after(pid, run.last_update + _CLOCK_SLACK)
    return ControllerInfo(pid, host, True, alive)


def pid_alive(pid: int) -> bool:
    """True if ``pid`` runs; a zombie (exited, not yet reaped by its parent) counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return not Path("/proc").is_dir()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _started_after(pid: int, when: float) -> bool:
    """True if process ``pid`` started after ``when``: the pid was reused, it is not the controller
    that recorded it. False when it cannot be told (no ``/proc``)."""
    try:
        ticks = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
        boot = next(
            int(ln.split()[1]) for ln in Path("/proc/stat").read_text().splitlines() if ln.startswith("btime")
        )
    except (OSError, ValueError, IndexError, StopIteration):
        return False
    return boot + ticks / os.sysconf("SC_CLK_TCK") > when


# -- parameters ----------------------------------------------------------------------------------


def param_updates(stored: list[Param], overrides: Mapping[str, str]) -> list[Param]:
    """New ``Args/`` parameters from text overrides, each cast like the stored value."""
    args = {p.name: p for p in stored if p.section == "Args"}
    out = []
    for key, text in overrides.items():
        name = key.removeprefix("Args/")
        if name not in args:
            raise ValueError(
                f"the run has no parameter '{name}'; its parameters: {', '.join(args) or 'none'}"
            )
        old = args[name]
        out.append(
            Param(
                "Args",
                name,
                parse_like(name, text, old.value, old.type, where="on this run"),
                old.type,
                old.description,
            )
        )
    return out
