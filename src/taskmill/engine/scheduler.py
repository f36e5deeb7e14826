"""The event-driven run loop shared by every API and execution mode.

One thread (the caller of :meth:`PipelineRun.run`) owns all node state. Everything else talks to
it through an event queue: launchers post "step ended", the decorator posts "new step", users and
callbacks post "stop". The loop sleeps on that queue until the next event or the next deadline
(a step's or the pipeline's time limit), so a child is launched within milliseconds of its last
parent finishing and nothing polls. Scheduling costs O(steps + edges) for a whole run.
"""

from __future__ import annotations

import heapq
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from taskmill.core.dag import Dag, DagProgress, NodeState
from taskmill.core.pipeline import NodeStatus
from taskmill.core.states import TaskStatus
from taskmill.engine.backend import Backend
from taskmill.engine.cache import CacheKey, explain_hit, explain_miss, lookup
from taskmill.engine.launchers import Launcher, LaunchRequest
from taskmill.engine.monitoring import copy_monitored
from taskmill.engine.nodes import Job, Node
from taskmill.engine.steps import Resolved, StepBuilder
from taskmill.errors import TaskmillError
from taskmill.types import JSONValue

log = logging.getLogger(__name__)

_FLUSH_EVERY = 0.1  # seconds between writes of changed node states (UI freshness vs. write load)


@dataclass
class RunOptions:
    """How a run behaves (units: seconds)."""

    abort_on_failure: bool = False
    max_parallel: int = 32
    time_limit: float | None = None
    recompute: bool | frozenset[str] = False
    retry_on_failure: int | Callable[..., bool] | None = None
    open_ended: bool = False  #: steps may still be added; the run ends after seal()


@dataclass
class RunHooks:
    """Callbacks and the objects they receive."""

    pipeline: Any = None  #: passed to callbacks as their ``pipeline`` argument
    step_task_created_callback: Callable[..., Any] | None = None
    step_task_completed_callback: Callable[..., Any] | None = None
    on_change: Callable[[Node], None] | None = None  #: progress display (loop thread)
    console: Callable[[str], None] = field(default=lambda msg: log.info("%s", msg))


@dataclass(frozen=True)
class RunResult:
    """How a run ended."""

    status: TaskStatus
    message: str
    failed_steps: tuple[str, ...] = ()


class PipelineRun:
    """Runs the nodes of one pipeline run to the end (see the module docstring)."""

    def __init__(
        self,
        backend: Backend,
        builder: StepBuilder,
        launcher: Launcher,
        nodes: Sequence[Node],
        *,
        run_id: str,
        done: Iterable[str] = (),
        options: RunOptions | None = None,
        hooks: RunHooks | None = None,
    ) -> None:
        self._b = backend
        self._builder = builder
        self._launcher = launcher
        self._opts = options or RunOptions()
        self._hooks = hooks or RunHooks()
        self.run_id = run_id
        self.nodes: dict[str, Node] = {n.name: n for n in nodes}
        self._progress = DagProgress(Dag.from_parents({n.name: n.spec.parents for n in nodes}), done=done)
        self._executed: dict[str, str | None] = {
            n.name: (n.job_id if n.status.is_success else None) for n in nodes
        }
        self._events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._ready: deque[str] = deque()
        self._running: dict[str, Node] = {}
        self._deadlines: list[tuple[float, str]] = []
        self._dirty: dict[str, Node] = {}
        self._last_flush = 0.0
        self._stopping: str = ""
        self._stop_status = TaskStatus.completed
        self._sealed = not self._opts.open_ended
        self._started_at: float | None = None
        self._finished = threading.Event()
        self.result: RunResult | None = None

    # -- thread-safe controls ------------------------------------------------------------------

    def add(self, node: Node) -> None:
        """Add a step while the run goes (the decorator). Thread-safe, non-blocking."""
        self._events.put(("add", node))

    def seal(self) -> None:
        """No more steps will be added: the run ends once the known ones are done. Thread-safe."""
        self._events.put(("seal", None))

    def stop(self, *, mark_failed: bool = False, mark_aborted: bool = False, reason: str = "") -> None:
        """Ask the run to stop: running steps are aborted, pending ones skipped. Thread-safe and
        non-blocking, so it is safe inside callbacks (fixes ClearML issue #1162)."""
        status = (
            TaskStatus.failed if mark_failed else TaskStatus.stopped if mark_aborted else TaskStatus.completed
        )
        self._events.put(("stop", (status, reason or "stopped by request")))

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the run ended; False on timeout."""
        return self._finished.wait(timeout)

    @property
    def backend(self) -> Backend:
        """Store and artifacts the run works on."""
        return self._b

    @property
    def started_at(self) -> float | None:
        """When the loop started (epoch seconds)."""
        return self._started_at

    def is_finished(self) -> bool:
        """True once the run ended."""
        return self._finished.is_set()

    # -- the loop ------------------------------------------------------------------------------

    def run(self) -> RunResult:
        """Run to the end; blocking. Call once, from the thread that owns the run."""
        self._started_at = time.time()
        try:
            self._launcher.start()
            if self._opts.time_limit:
                heapq.heappush(self._deadlines, (time.monotonic() + self._opts.time_limit, ""))
            for name in self._progress.steps_in(NodeState.DONE):
                self._mark(self.nodes[name])
            self._enqueue(self._progress.start())
            while True:
                self._fill()
                self._flush()
                if self._over():
                    break
                self._wait_and_handle()
            self.result = self._finalise()
            return self.result
        finally:
            self._launcher.close()
            self._flush(force=True)
            self._finished.set()

    def _over(self) -> bool:
        if self._running or (self._ready and not self._stopping):
            return False
        if self._stopping:
            return not self._running
        return self._sealed and self._progress.finished

    def _wait_and_handle(self) -> None:
        now = time.monotonic()
        wake = [self._last_flush + _FLUSH_EVERY - now if self._dirty else None]
        if self._deadlines:
            wake.append(self._deadlines[0][0] - now)
        timeouts = [w for w in wake if w is not None]
        timeout = max(0.0, min(timeouts)) if timeouts else None
        try:
            kind, payload = self._events.get(timeout=timeout)
            self._handle(kind, payload)
            while True:  # drain what else arrived, cheaply
                kind, payload = self._events.get_nowait()
                self._handle(kind, payload)
        except queue.Empty:
            pass
        self._expire_deadlines()

    def _handle(self, kind: str, payload: Any) -> None:
        if kind == "done":
            self._on_done(payload)
        elif kind == "started":
            self._on_started(payload)
        elif kind == "add":
            self._on_add(payload)
        elif kind == "seal":
            self._sealed = True
        elif kind == "stop":
            status, reason = payload
            self._begin_stop(status, reason)

    # -- launching -----------------------------------------------------------------------------

    def _enqueue(self, names: Iterable[str]) -> None:
        self._ready.extend(names)

    def _fill(self) -> None:
        while self._ready and not self._stopping and len(self._running) < self._opts.max_parallel:
            self._launch(self.nodes[self._ready.popleft()])

    def _pre_execute(self, node: Node, resolved: Resolved) -> object:
        """Call the step's ``pre_execute_callback`` as ClearML does: with the parameters the step
        is about to be created with (``kwargs/<name>`` and ``kwargs_artifacts/<name>`` for a
        function step), where changes made in place apply to the step. Returns what it returned."""
        callback = node.hooks.pre_execute_callback
        assert callback is not None
        if node.spec.kind == "task":
            return self._call(callback, node, resolved.parameters)
        args: dict[str, Any] = {f"kwargs/{k}": v for k, v in resolved.kwargs.items()}
        args.update({f"kwargs_artifacts/{k}": v for k, v in resolved.inputs.items()})
        answer = self._call(callback, node, args)
        for key, value in args.items():
            section, _, name = key.partition("/")
            if section == "kwargs" and name:
                resolved.kwargs[name] = value
        return answer

    def _launch(self, node: Node) -> None:
        try:
            resolved = self._builder.resolve(node, self._executed)
            if node.hooks.pre_execute_callback is not None:
                if self._pre_execute(node, resolved) is False:
                    self._skip(node, "skipped by pre_execute_callback")
                    return
            # A draft may be edited before it runs, so its outputs are never offered to the cache.
            draft = node.spec.draft
            if node.spec.kind == "function":
                key = self._builder.key(node, "", resolved)
                if self._cache_hit(node, key):
                    return
                running = self._launcher.starts_immediately_for(node) and not draft
                task_id = self._builder.create(node, resolved, None if draft else key, running=running)
            else:
                task_id = self._builder.create(node, resolved)
                key = self._builder.key(node, task_id, resolved)
                if not draft:
                    self._b.store.update_task(task_id, cache_key=key.key, runtime=key.runtime())
                if self._cache_hit(node, key, created=task_id):
                    return
            self._explain_miss(node, key, task_id)
        except TaskmillError as exc:
            self._fail_without_task(node, str(exc))
            return
        node.job = Job(task_id, self._b.store, self._b.task_factory)
        node.job_id = task_id
        node.attempts.append(task_id)
        cb = self._hooks.step_task_created_callback
        if cb is not None and self._call(cb, node, resolved.parameters) is False:
            self._b.store.delete_task(task_id)
            self._skip(node, "skipped by step_task_created_callback")
            return
        self._start(node, task_id, resolved)

    def _start(self, node: Node, task_id: str, resolved: Resolved) -> None:
        node.resolved_queue = resolved.queue
        node.job_started = time.time()
        node.job_ended = None
        draft = node.spec.draft
        if draft:
            node.message = f"draft: waits until task {task_id} is enqueued"
        waits = self._launcher.reports_start or draft  # queued until it starts
        self._set(node, NodeStatus.queued if waits else NodeStatus.running)
        self._running[task_id] = node
        if node.spec.time_limit and not draft:  # a draft's limit counts once a person released it
            self._add_deadline(task_id, node.spec.time_limit)
        self._hooks.console(f"Launching step [{node.name}] (task {task_id})")
        try:
            self._launcher.launch(
                LaunchRequest(node, task_id, resolved.queue, self._post_done, self._post_started)
            )
        except TaskmillError as exc:
            self._running.pop(task_id, None)
            self._b.store.set_status(task_id, TaskStatus.failed, message=str(exc), force=True)
            self._on_ended(node, task_id)

    def _post_done(self, task_id: str) -> None:
        self._events.put(("done", task_id))

    def _post_started(self, task_id: str) -> None:
        self._events.put(("started", task_id))

    def _on_started(self, task_id: str) -> None:
        node = self._running.get(task_id)
        if node is not None and node.status == NodeStatus.queued:
            node.job_started = time.time()
            if node.spec.draft:
                node.message = ""
                if node.spec.time_limit:
                    self._add_deadline(task_id, node.spec.time_limit)
            self._set(node, NodeStatus.running)

    def _add_deadline(self, task_id: str, seconds: float) -> None:
        heapq.heappush(self._deadlines, (time.monotonic() + seconds, task_id))

    # -- caching -------------------------------------------------------------------------------

    def _forced(self, node: Node) -> bool:
        r = self._opts.recompute
        return r is True or (isinstance(r, frozenset) and node.name in r)

    def _cache_hit(self, node: Node, key: CacheKey, created: str = "") -> bool:
        base: dict[str, JSONValue] = {"key": key.key, "parts": dict(key.parts)}
        if not node.spec.cache:
            node.cache = {
                **base,
                "result": "disabled",
                "reason": "caching is off for this step (enable with cache_executed_step=True / cache=True)",
            }
            return False
        if self._forced(node):
            node.cache = {**base, "result": "forced", "reason": "recompute was requested for this step"}
            return False
        hit = lookup(self._b, key, exclude=created)
        if hit is None:
            return False
        if created:
            self._b.store.delete_task(created)
        node.cache = {**base, **explain_hit(hit)}
        node.job = Job(hit.id, self._b.store, self._b.task_factory, cached=True)
        node.job_id = hit.id
        node.executed = hit.id
        node.job_started = hit.started
        node.job_ended = hit.completed
        self._executed[node.name] = hit.id
        self._set(node, NodeStatus.cached)
        self._hooks.console(f"Skipping cached step [{node.name}] (reusing task {hit.id})")
        self._enqueue(self._progress.complete(node.name))
        return True

    def _explain_miss(self, node: Node, key: CacheKey, task_id: str) -> None:
        if node.spec.cache and not self._forced(node):
            rec = self._b.store.get_task(task_id)
            node.cache = {
                "key": key.key,
                "parts": dict(key.parts),
                **explain_miss(self._b, key, project=rec.project, task_name=rec.name, exclude=task_id),
            }

    # -- endings -------------------------------------------------------------------------------

    def _on_done(self, task_id: str) -> None:
        node = self._running.pop(task_id, None)
        if node is not None:
            self._on_ended(node, task_id)

    def _on_ended(self, node: Node, task_id: str) -> None:
        rec = self._b.store.get_task(task_id)
        node.job_ended = time.time()
        if rec.status.succeeded:
            node.executed = task_id
            self._executed[node.name] = task_id
            self._set(node, NodeStatus.completed)
            copy_monitored(self._b.store, self.run_id, spec=node.spec, task_id=task_id)
            self._after(node)
            self._enqueue(self._progress.complete(node.name))
            return
        aborted = rec.status == TaskStatus.stopped
        if not rec.status.is_final:  # the runner vanished without recording an end
            self._b.store.set_status(
                task_id, TaskStatus.failed, message="step ended without a status", force=True
            )
        node.message = node.message or rec.status_reason or rec.status_message
        if not aborted and not self._stopping and self._should_retry(node):
            attempt = len(node.attempts)
            self._hooks.console(f"Node '{node.name}' failed. Retrying... (this is retry number {attempt})")
            self._set(node, NodeStatus.failed)
            self._set(node, NodeStatus.queued)
            node.message = ""
            self._launch(node)
            return
        status = NodeStatus.aborted if aborted else NodeStatus.failed
        skip = node.skip_children_on_abort if aborted else node.skip_children_on_fail
        node.executed = False if skip else task_id
        self._executed[node.name] = None if skip else task_id
        self._set(node, status)
        self._after(node)
        outcome = self._progress.fail(node.name, skip_children=skip)
        for name in outcome.skipped:
            self._set(self.nodes[name], NodeStatus.skipped)
            self.nodes[name].skip_job = True
        self._enqueue(outcome.ready)
        if not aborted and self._opts.abort_on_failure and not node.continue_on_fail:
            self._begin_stop(
                TaskStatus.failed,
                f"Aborting pipeline and stopping all running steps, node [{node.name}] failed",
            )

    def _fail_without_task(self, node: Node, message: str) -> None:
        node.message = message
        self._hooks.console(f"Step [{node.name}] could not start: {message}")
        node.executed = False
        self._set(node, NodeStatus.failed)
        outcome = self._progress.fail(node.name, skip_children=True)
        for name in outcome.skipped:
            self._set(self.nodes[name], NodeStatus.skipped)
        if self._opts.abort_on_failure and not node.continue_on_fail:
            self._begin_stop(TaskStatus.failed, f"node [{node.name}] failed")

    def _should_retry(self, node: Node) -> bool:
        policy = (
            node.hooks.retry_on_failure
            if node.hooks.retry_on_failure is not None
            else (node.spec.retries if node.spec.retries is not None else self._opts.retry_on_failure)
        )
        retries = len(node.attempts) - 1
        if policy is None:
            return False
        if callable(policy):
            return bool(self._call(policy, node, retries))
        return retries < int(policy)

    def _after(self, node: Node) -> None:
        for cb in (self._hooks.step_task_completed_callback, node.hooks.post_execute_callback):
            if cb is not None:
                self._call(cb, node)

    def _skip(self, node: Node, why: str) -> None:
        node.skip_job = True
        node.message = why
        self._set(node, NodeStatus.skipped)
        for name in self._progress.skip(node.name):
            self._set(self.nodes[name], NodeStatus.skipped)
            self.nodes[name].skip_job = True

    def _on_add(self, node: Node) -> None:
        self.nodes[node.name] = node
        done = node.status.is_success and bool(node.job_id)  # kept from an earlier attempt (resume)
        self._executed[node.name] = node.job_id if done else None
        state = self._progress.add(node.name, node.spec.parents, done=done)
        self._mark(node)
        if state is NodeState.READY:
            self._enqueue([node.name])
        elif state is NodeState.SKIPPED:
            node.skip_job = True
            self._set(node, NodeStatus.skipped)

    # -- time limits and stopping ------------------------------------------------------------

    def _expire_deadlines(self) -> None:
        now = time.monotonic()
        while self._deadlines and self._deadlines[0][0] <= now:
            _, task_id = heapq.heappop(self._deadlines)
            if task_id == "":
                self._begin_stop(TaskStatus.failed, "pipeline time limit exceeded")
            elif task_id in self._running:
                node = self._running[task_id]
                node.message = f"time limit of {node.spec.time_limit:g} s exceeded"
                self._hooks.console(f"Step [{node.name}] {node.message}; aborting it")
                self._launcher.abort(task_id)
                self._on_done(task_id)

    def _begin_stop(self, status: TaskStatus, reason: str) -> None:
        if self._stopping:
            return
        self._stopping = reason
        self._stop_status = status
        self._ready.clear()
        self._hooks.console(reason)
        for task_id in list(self._running):
            self._launcher.abort(task_id)
            self._on_done(task_id)

    def _finalise(self) -> RunResult:
        for node in self.nodes.values():
            if node.status in (NodeStatus.pending, NodeStatus.queued):
                node.skip_job = True
                self._set(node, NodeStatus.skipped)
        failed = tuple(
            n.name
            for n in self.nodes.values()
            if (n.status == NodeStatus.failed and not n.continue_on_fail)
            or (n.status == NodeStatus.aborted and not n.continue_on_abort)
        )
        if self._stopping and self._stop_status != TaskStatus.completed:
            return RunResult(self._stop_status, self._stopping, failed)
        if failed:
            return RunResult(TaskStatus.failed, self._failure_reason(failed), failed)
        if self._stopping:
            return RunResult(TaskStatus.completed, self._stopping)
        return RunResult(TaskStatus.completed, "completed")

    def _failure_reason(self, failed: tuple[str, ...]) -> str:
        """``step(s) failed: a, b``, then the first failed step's error line and where its
        whole log is (the console summary and the run's status message show it)."""
        reason = f"step(s) failed: {', '.join(failed)}"
        first = self.nodes[failed[0]]
        cause = next((line.strip() for line in (first.message or "").splitlines() if line.strip()), "")
        if len(cause) > 300:
            cause = cause[:297] + "..."
        if first.job_id:
            where = f"see `taskmill tasks logs {first.job_id}`"
            reason += f"; {first.name}: {cause} ({where})" if cause else f"; {first.name}: {where}"
        elif cause:
            reason += f"; {first.name}: {cause}"
        return reason

    # -- bookkeeping ---------------------------------------------------------------------------

    def _set(self, node: Node, status: NodeStatus) -> None:
        previous = node.set_status(status)
        if previous != status:
            self._mark(node)
            if node.hooks.status_change_callback is not None:
                self._call(node.hooks.status_change_callback, node, previous.value)

    def _mark(self, node: Node) -> None:
        self._dirty[node.name] = node
        if self._hooks.on_change is not None:
            self._hooks.on_change(node)

    def _flush(self, force: bool = False) -> None:
        now = time.monotonic()
        if not self._dirty or (not force and now - self._last_flush < _FLUSH_EVERY):
            return
        batch = [(name, n.to_dict()) for name, n in self._dirty.items()]
        self._dirty = {}
        self._last_flush = now
        self._b.store.put_nodes(self.run_id, batch)

    def _call(self, fn: Callable[..., Any], node: Node, *extra: Any) -> Any:
        try:
            return fn(self._hooks.pipeline, node, *extra)
        except Exception:  # a user callback must not kill the run; it is logged
            log.exception("callback %s for step %s raised", getattr(fn, "__name__", fn), node.name)
            self._hooks.console(
                f"callback {getattr(fn, '__name__', fn)} for step [{node.name}] raised; see log"
            )
            return None
