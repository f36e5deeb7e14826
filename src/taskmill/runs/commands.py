"""Commands on stored pipeline runs, shared by the CLI and the web UI: list pipelines and runs,
show a run, explain a step's cache decision, abort a run, resume it, clone it for a new run.

Every command takes the :class:`~taskmill.store.base.TaskStore` to work on and blocks until done.
The read commands change nothing; the others say in their docstrings what they write. Views
(:class:`~taskmill.runs.views.RunDetail`, ...) come from :mod:`taskmill.runs.views`. Errors are
taskmill errors (or ``ValueError`` for bad arguments) whose messages say what to do next.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from taskmill.core.model import ConfigObject, Param, TaskRecord, new_id
from taskmill.core.pipeline import NodeStatus
from taskmill.core.states import TaskStatus
from taskmill.core.stored import DEFAULT_QUEUE, PIPELINE_CONFIG, SERVICES_QUEUE
from taskmill.core.versions import is_valid_version, max_version
from taskmill.errors import ExecutionError, NotFoundError
from taskmill.runs.editing import param_updates
from taskmill.runs.processes import controller_info, pid_alive
from taskmill.runs.records import all_runs, get_run, interrupt_unfinished, next_run_number
from taskmill.runs.scripts import rerun_command
from taskmill.runs.views import (
    NodeData,
    PipelineSummary,
    RunDetail,
    RunSummary,
    StepView,
    load_nodes,
    pipeline_of,
    run_summary,
    settled_nodes,
    step_view,
    task_ref,
)
from taskmill.store.base import TaskStore
from taskmill.types import JSONValue

__all__ = [
    "ABORT_WAIT",
    "RUN_BUCKETS",
    "ResumePlan",
    "abort_run",
    "adopt_default_queue",
    "clone_run",
    "enqueue_resume",
    "enqueue_run",
    "explain_node",
    "explain_step",
    "list_pipelines",
    "list_runs",
    "mark_stopped",
    "new_run",
    "resume_run",
    "run_detail",
]

#: Seconds ``abort_run`` waits for a signalled controller to end the run.
ABORT_WAIT = 10.0
#: Run status -> the bucket pipeline summaries count it in (the web UI's card counters).
RUN_BUCKETS: dict[TaskStatus, str] = {
    TaskStatus.in_progress: "running",
    TaskStatus.queued: "pending",
    TaskStatus.created: "draft",
    TaskStatus.completed: "completed",
    TaskStatus.published: "completed",
    TaskStatus.failed: "failed",
    TaskStatus.stopped: "aborted",
}


# -- queries ------------------------------------------------------------------------------------


def list_pipelines(store: TaskStore) -> list[PipelineSummary]:
    """Every pipeline with its run counts, most recently run first."""
    groups: dict[tuple[str, str], list[TaskRecord]] = {}
    for record in store.list_projects(include_hidden=True):
        head, sep, name = record.name.rpartition("/.pipelines/")
        if sep and "pipeline" in record.system_tags and "/" not in name:
            groups[(head, name)] = []
    for run in all_runs(store):
        groups.setdefault(pipeline_of(run), []).append(run)
    out = []
    for (project, name), runs in groups.items():
        counts = dict.fromkeys(("running", "pending", "completed", "failed", "aborted"), 0)
        for run in runs:
            counts[RUN_BUCKETS[run.status]] = counts.get(RUN_BUCKETS[run.status], 0) + 1
        versions = [v for r in runs if is_valid_version(v := str(r.runtime.get("version") or ""))]
        tags = tuple(dict.fromkeys(t for r in runs for t in r.tags))
        last = max((r.created for r in runs), default=None)
        out.append(
            PipelineSummary(
                project, name, len(runs), last, counts, max_version(versions) if versions else None, tags
            )
        )
    return sorted(out, key=lambda p: (-(p.last_run or 0.0), p.project, p.name))


def list_runs(
    store: TaskStore, project: str | None, name: str, *, now: float | None = None
) -> list[RunSummary]:
    """Runs of pipeline ``name`` (in ``project``; optional when the name is unique), newest first."""
    runs = [r for r in all_runs(store) if pipeline_of(r)[1] == name]
    projects = sorted({pipeline_of(r)[0] for r in runs})
    if project is not None:
        runs = [r for r in runs if pipeline_of(r)[0] == project]
    elif len(projects) > 1:
        raise ValueError(
            f"pipeline '{name}' exists in {len(projects)} projects ({', '.join(projects)}); "
            "say which one with --project"
        )
    if not runs:
        known = sorted({f"{n} (project {p})" for p, n in map(pipeline_of, all_runs(store))})
        where = f" in project '{project}'" if project else ""
        raise NotFoundError(
            f"no pipeline named '{name}'{where} has runs; known pipelines: {', '.join(known) or 'none'}"
        )
    return [run_summary(r, settled_nodes(r, load_nodes(store, r)), now) for r in runs]


def run_detail(store: TaskStore, run_id: str, *, now: float | None = None) -> RunDetail:
    """A run's header, parameters, controller and steps (in topological order)."""
    run = get_run(store, run_id)
    nodes = settled_nodes(run, load_nodes(store, run))
    now = time.time() if now is None else now
    params = {p.name: p.value for p in store.get_params(run.id) if p.section == "Args"}
    steps = tuple(step_view(name, d, now) for name, d in nodes)
    return RunDetail(run_summary(run, nodes, now), run, params, steps, controller_info(run))


def explain_step(store: TaskStore, run_id: str, step: str) -> dict[str, JSONValue]:
    """Why step ``step`` of a run was (or was not) taken from the cache, and its task ids."""
    run = get_run(store, run_id)
    nodes = dict(load_nodes(store, run))
    if step not in nodes:
        raise NotFoundError(f"run {run.name} ({run.id}) has no step '{step}'; its steps: {', '.join(nodes)}")
    node = nodes[step]
    return explain_node(store, run, step_view(step, node, time.time()), node)


def explain_node(store: TaskStore, run: TaskRecord, view: StepView, node: NodeData) -> dict[str, JSONValue]:
    """:func:`explain_step` for a node already loaded (the web UI holds a run's nodes)."""
    stored = node.get("cache")
    cache: dict[str, JSONValue] = dict(stored) if isinstance(stored, dict) else {}
    if not cache.get("result"):
        why = {
            "pending": "it has not launched yet",
            "queued": "it has not launched yet",
            "skipped": "it was skipped",
            "failed": "it failed before its task was created",
        }.get(view.status, f"it is {view.status}")
        note = f" ({view.message})" if view.message else ""
        cache = {"result": "none", "reason": f"no cache decision was recorded: {why}{note}"}
    out: dict[str, JSONValue] = {
        "run_id": run.id,
        "run_name": run.name,
        "step": view.name,
        "status": view.status,
        "task_id": view.task_id,
        "attempts": list(view.attempts),
        "cache_enabled": bool(node.get("cache_executed_step")),
        "message": view.message,
        "cache": cache,
    }
    for key in ("source_task", "compared_to"):
        ref = cache.get(key)
        if isinstance(ref, str):
            out[f"{key}_ref"] = task_ref(store, ref)
    return out


# -- abort --------------------------------------------------------------------------------------


def abort_run(store: TaskStore, run_id: str, *, wait: float = ABORT_WAIT) -> str:
    """Abort a run; returns a sentence saying what happened.

    A live controller on this host gets SIGTERM: it aborts its running steps and marks the run
    stopped (waited for up to ``wait`` seconds). A controller that is gone, or runs on another
    host, cannot do that: the run and its unfinished steps are then marked stopped in the store.
    """
    run = get_run(store, run_id)
    label = f"run {run.name} ({run.id})"
    if run.status.is_final:
        return f"{label} already ended: {run.status.label}; nothing to abort"
    if run.status == TaskStatus.created:
        raise ValueError(f"{label} is a draft: it never started, so there is nothing to abort")
    ctl = controller_info(run)
    if run.status == TaskStatus.in_progress and ctl.alive and ctl.pid is not None:
        if ctl.pid == os.getpid():
            raise ExecutionError(f"{label} is controlled by this very process; stop it with pipe.stop()")
        os.kill(ctl.pid, signal.SIGTERM)
        deadline = time.monotonic() + wait
        while not (status := store.get_task(run.id).status).is_final and pid_alive(ctl.pid):
            if time.monotonic() > deadline:
                raise ExecutionError(
                    f"sent SIGTERM to the controller of {label} (pid {ctl.pid}), but the run is still "
                    f"{status.label} after {wait:g} s; if the process hangs, kill it (kill -9 {ctl.pid}) "
                    "and abort again to mark the run stopped"
                )
            time.sleep(0.05)
        if status.is_final:
            while pid_alive(ctl.pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            gone = "exited" if not pid_alive(ctl.pid) else "is still shutting down"
            return (
                f"sent SIGTERM to the controller (pid {ctl.pid}): it stopped the running steps and "
                f"ended {label} as {status.label}; the controller process {gone}"
            )
        why = f"the controller (pid {ctl.pid}) exited without ending the run"
    elif run.status == TaskStatus.queued:
        why = "it was waiting in a queue"
    elif ctl.local:
        why = (
            f"its controller (pid {ctl.pid}) is no longer running" if ctl.pid else "it has no controller pid"
        )
    else:
        why = (
            f"its controller runs on host '{ctl.host or 'unknown'}' (pid {ctl.pid}), which this host "
            "cannot signal; if that process is still running, stop it there"
        )
    steps = mark_stopped(store, run, why)
    return f"marked {label} Aborted in the store ({len(steps)} unfinished step task(s) stopped): {why}"


def mark_stopped(store: TaskStore, run: TaskRecord, reason: str) -> list[str]:
    """End a run whose controller cannot: unfinished step tasks and the run become stopped,
    unfinished nodes aborted (running) or skipped (not started). Returns the stopped task ids."""
    now = time.time()
    with store.batch():
        stopped = interrupt_unfinished(store, run.id, keep=set())
        nodes = load_nodes(store, run)
        changed: list[tuple[str, NodeData]] = []
        for name, node in nodes:
            status = node.get("status")
            if status in (NodeStatus.running.value, NodeStatus.queued.value):
                node.update(
                    status=NodeStatus.aborted.value,
                    executed=False,
                    job_ended=now,
                    message=f"aborted: {reason}",
                )
            elif status == NodeStatus.pending.value:
                node.update(status=NodeStatus.skipped.value, skip_job=True, message=f"not started: {reason}")
            else:
                continue
            changed.append((name, node))
        if changed:
            store.put_nodes(run.id, changed)
        dag = json.dumps(dict(nodes), default=str)
        store.set_config(run.id, ConfigObject(PIPELINE_CONFIG, dag, "dictionary", "pipeline state"))
        store.set_status(run.id, TaskStatus.stopped, message=reason, reason=reason, force=True)
    return stopped


# -- resume -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResumePlan:
    """The process that resumes a run."""

    run: TaskRecord
    command: tuple[str, ...]
    cwd: str
    env: dict[str, str]


def resume_run(
    store: TaskStore,
    run_id: str,
    *,
    env: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
    recompute: Sequence[str] | bool = False,
    mode: str | None = None,
    announce: Callable[[ResumePlan], None] | None = None,
) -> int:
    """Continue a failed, aborted or interrupted run: re-run its script attached to the run, so
    completed steps are kept and the others run again. Returns the script's exit code.

    ``env`` are variables that point the script at this same store (``Settings.to_env()``),
    laid over this process's environment. ``params`` override the run's ``Args/`` values (text,
    cast to each value's stored type; written before the script starts); ``recompute`` (True or
    step names) ignores the cache; ``mode`` forces ``process`` or ``debug`` execution.
    ``announce`` sees the plan just before the script starts. Blocks until the script ends.
    """
    run = get_run(store, run_id)
    _check_resumable(run)
    steps = [name for name, _ in load_nodes(store, run)]
    if mode not in (None, "process", "debug"):
        raise ValueError(f"unknown pipeline mode '{mode}'; use 'process' or 'debug'")
    if not isinstance(recompute, bool) and (unknown := [s for s in recompute if s not in steps]):
        raise NotFoundError(
            f"run {run.name} has no step(s) {', '.join(unknown)}; its steps: {', '.join(steps)}"
        )
    updates = param_updates(store.get_params(run.id), params or {})  # the user's input first
    command, cwd = rerun_command(run)
    child = {**os.environ, **(env or {}), "TASKMILL_TASK_ID": run.id, "TASKMILL_RESUME": "1"}
    if recompute:
        child["TASKMILL_RECOMPUTE"] = "all" if recompute is True else ",".join(recompute)
    if mode:
        child["TASKMILL_PIPELINE_MODE"] = mode
    if updates:
        store.set_params(run.id, updates)
    plan = ResumePlan(run, command, cwd, child)
    if announce is not None:
        announce(plan)
    with subprocess.Popen(list(command), cwd=cwd, env=child) as proc:
        try:
            return proc.wait()
        except KeyboardInterrupt:  # the script got the same Ctrl-C: let it stop its run cleanly
            return proc.wait()


def clone_run(store: TaskStore, run_id: str, params: Mapping[str, str] | None = None) -> TaskRecord:
    """A new draft run of a run's pipeline (``<pipeline> #N``) with some ``Args/`` values changed.

    ``params`` are text (as typed in a form or on the command line), cast to each value's stored
    type. Nothing runs yet: see :func:`new_run` (here) and :func:`enqueue_run` (on an agent).
    """
    source = get_run(store, run_id)
    updates = param_updates(store.get_params(source.id), params or {})
    base = source.name.split(" #")[0]
    record = TaskRecord(
        id=new_id(),
        name=f"{base} #{next_run_number(store, source.project, base)}",
        project=source.project,
        task_type=source.task_type,
        tags=source.tags,
        system_tags=tuple(t for t in source.system_tags if t != "archived"),
        comment=f"new run of {source.name} ({source.id})",
        script=source.script,
        runtime={k: v for k, v in source.runtime.items() if k in ("version", "script_root")},
        output_uri=source.output_uri,
    )
    with store.batch():
        store.create_task(record)
        store.set_params(record.id, store.get_params(source.id))
        if updates:
            store.set_params(record.id, updates)
    return store.get_task(record.id)


def enqueue_run(
    store: TaskStore, run_id: str, queue: str = SERVICES_QUEUE, *, params: Mapping[str, str] | None = None
) -> TaskRecord:
    """ClearML's "NEW RUN" for a server: clone the run with edited parameters and put the new run
    on ``queue`` for an agent (``taskmill agent --queue services --services-mode``). Returns it.

    A run recorded without a step queue (started locally) gets ``default`` as its steps' default
    queue, so its controller can queue them; ExecutionError (nothing written) for a run that
    an agent cannot re-run."""
    _check_agent_can_run(get_run(store, run_id))
    record = clone_run(store, run_id, params)
    adopt_default_queue(store, record.id)
    return store.enqueue(record.id, queue)


def enqueue_resume(store: TaskStore, run_id: str, queue: str = SERVICES_QUEUE) -> TaskRecord:
    """Resume a failed or aborted run on an agent: it goes back on ``queue`` marked for resume,
    so its controller keeps the completed steps. Refuses a run that is still running or that an
    agent cannot re-run; a run started locally gets ``default`` as its steps' default queue."""
    run = get_run(store, run_id)
    _check_resumable(run)
    _check_agent_can_run(run)
    adopt_default_queue(store, run.id)
    if run.status == TaskStatus.in_progress:  # its controller is gone (checked above)
        store.set_status(run.id, TaskStatus.stopped, message="interrupted; resuming", force=True)
    store.update_task(run.id, runtime={"_resume": True})
    return store.enqueue(run.id, queue)


def new_run(
    store: TaskStore,
    run_id: str,
    *,
    env: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
    mode: str | None = None,
    announce: Callable[[ResumePlan], None] | None = None,
) -> tuple[str, int]:
    """Start a new run of the same pipeline here with some parameters changed (ClearML's "NEW RUN").

    The run is cloned (:func:`clone_run`) and its script runs attached to the new run, with
    ``env`` laid over this process's environment (as for :func:`resume_run`). Blocks until the
    script ends; returns the new run id and the script's exit code.
    """
    if mode not in (None, "process", "debug"):
        raise ValueError(f"unknown pipeline mode '{mode}'; use 'process' or 'debug'")
    command, cwd = rerun_command(get_run(store, run_id))
    record = clone_run(store, run_id, params)
    adopt_default_queue(store, record.id)  # for a script that queues its steps (start())
    child = {k: v for k, v in os.environ.items() if k not in ("TASKMILL_RESUME", "TASKMILL_RECOMPUTE")}
    child.update({**(env or {}), "TASKMILL_TASK_ID": record.id})
    if mode:
        child["TASKMILL_PIPELINE_MODE"] = mode
    plan = ResumePlan(record, command, cwd, child)
    if announce is not None:
        announce(plan)
    with subprocess.Popen(list(command), cwd=cwd, env=child) as proc:
        try:
            return record.id, proc.wait()
        except KeyboardInterrupt:
            return record.id, proc.wait()


def adopt_default_queue(store: TaskStore, run_id: str) -> bool:
    """Give a run recorded without a default step queue ``default`` (created when missing), as
    ``set_default_execution_queue("default")`` would have; a recorded queue is kept. True when
    it was set. Idempotent; steps with their own queue keep it."""
    if store.get_param_dict(run_id).get("pipeline/default_queue"):
        return False
    store.create_queue(DEFAULT_QUEUE)  # idempotent; a standard queue taskmill creates itself
    store.set_params(run_id, [Param("pipeline", "default_queue", DEFAULT_QUEUE)])
    return True


def _check_agent_can_run(run: TaskRecord) -> None:
    """An agent re-runs the run's recorded script: refuse, in one sentence, a run without one."""
    if not run.script.entry_point:
        raise ExecutionError(
            f"run {run.name} ({run.id}) has no recorded script, so an agent cannot re-run it"
        )


def _check_resumable(run: TaskRecord) -> None:
    label = f"run {run.name} ({run.id})"
    if run.status.succeeded:
        raise ExecutionError(
            f"{label} completed; there is nothing to resume (run the pipeline script again for a new run)"
        )
    if run.status != TaskStatus.in_progress:
        return
    ctl = controller_info(run)
    if ctl.alive:
        raise ExecutionError(
            f"{label} is still running (controller pid {ctl.pid}); abort it first with "
            f"`taskmill pipelines abort {run.id[:8]}`"
        )
    if ctl.alive is None:
        raise ExecutionError(
            f"{label} is Running on host '{ctl.host}', which this host cannot check; abort it "
            f"first (`taskmill pipelines abort {run.id[:8]}`) if that controller is gone"
        )
