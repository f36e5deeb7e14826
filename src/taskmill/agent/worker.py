"""The agent: claim a task from its queues, run it in its own process, repeat.

One main loop claims tasks (``store.claim``: atomic, never the same task twice) while it has free
slots: one slot normally, N in services mode. Each claimed task runs on a thread of its own
(:class:`~taskmill.agent.execution.TaskExecution`). When the queues are empty the loop sleeps
until the event feed reports a task entering a queue (:class:`~taskmill.agent.watcher.EventWatcher`,
milliseconds after the enqueue), a task of its own ends, or :attr:`AgentOptions.recheck` seconds
pass (a safety net). Every wake-up is a token in a :class:`queue.SimpleQueue`, which is safe to
feed from signal handlers, so :meth:`Agent.request_stop` works from one.

Stopping (SIGTERM/SIGINT through :meth:`Agent.request_stop`): no new claims; running tasks are
marked ``stopped`` ("agent X was stopped ...") and killed; the agent unregisters and returns.

GPUs: with ``--gpus`` (``CUDA_VISIBLE_DEVICES`` in :attr:`AgentOptions.child_env`), a task whose
``runtime["resources"]`` asks for ``gpu: N`` gets N of those devices to itself
(:class:`~taskmill.agent.gpus.GpuPool`); when fewer are free it waits, claimed and holding a
slot, until a task ends and gives its devices back (first come, first served). A task asking
for more GPUs than the agent has fails at once with the reason. A task asking for none sees all
of the agent's devices; without ``--gpus`` the agent hands out nothing.

Containers: with :attr:`AgentOptions.containers` (``--docker``) each task runs in a container of
its image instead of a process here (:mod:`taskmill.agent.containers`).
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from taskmill import __version__
from taskmill.agent.children import Spawner
from taskmill.agent.containers import ContainerExecution, ContainerOptions
from taskmill.agent.environment import EnvironmentBuilder, installed_distributions
from taskmill.agent.execution import ExecutionContext, TaskExecution, child_environment
from taskmill.agent.gpus import GpuPool
from taskmill.agent.heartbeat import Heartbeat
from taskmill.agent.reaper import fail_orphaned_tasks, reap_dead_workers
from taskmill.agent.threaded import ThreadedExecution
from taskmill.agent.venvs import taskmill_requirement
from taskmill.agent.watcher import EventWatcher
from taskmill.core.model import TaskRecord
from taskmill.core.resources import ResourceError, resources_of
from taskmill.core.states import TaskStatus
from taskmill.errors import ConflictError, NotFoundError, QueueNotFoundError, StoreError
from taskmill.store.base import TaskStore
from taskmill.types import JSONValue

logger = logging.getLogger(__name__)

#: Modules the warm worker imports once, so each task starts with them loaded.
DEFAULT_PRELOAD = ("taskmill.agent.run_task", "taskmill.artifacts.storage", "cloudpickle")
#: Services mode runs up to this many tasks at once unless told otherwise.
DEFAULT_SERVICES = 8


#: how the agent runs one claimed task: a process here, or a container
Execution = ThreadedExecution


def _store_modules(url: str) -> list[str]:
    """The modules a task process needs to open the store at ``url`` (preloaded in the warm worker)."""
    if url.startswith(("http://", "https://")):
        return ["taskmill.store.http", "httpcore"]  # httpx imports its transport lazily
    return ["taskmill.store.sql.store", *(["psycopg"] if url.startswith("postgresql") else [])]


def default_worker_id() -> str:
    """``<hostname>:<pid>``: unique per agent process."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True, slots=True)
class AgentOptions:
    """How an agent runs (the ``taskmill agent`` options)."""

    queues: tuple[str, ...]  #: served in this order: the first non-empty one gives the next task
    worker_id: str
    cache_dir: Path  #: checkouts and venvs (``$TASKMILL_HOME/agent``)
    child_env: Mapping[str, str] = field(default_factory=dict)  #: store settings (and API key) for tasks
    services: int = 0  #: 0: one task at a time; N: services mode, up to N at once
    burst: bool = False  #: exit once the queues are empty and nothing runs
    max_tasks: int | None = None  #: exit after this many tasks
    heartbeat: float = 2.0  #: seconds between heartbeats
    #: database stores only: agents silent this long are dead (their tasks fail); with a server
    #: (an HTTP store) the server judges liveness (``taskmill server --dead-after``)
    dead_after: float = 10.0
    create_queues: bool = True  #: create missing queues (False: refuse to start without them)
    recheck: float = 5.0  #: claim at least this often (seconds) even without events
    cwd: str | None = None  #: where tasks start; also on the warm worker's sys.path
    preload: tuple[str, ...] = DEFAULT_PRELOAD
    #: run each task in a container of its image (``--docker``; see
    #: :mod:`taskmill.agent.containers`); None: in a process on this machine
    containers: ContainerOptions | None = None

    @property
    def slots(self) -> int:
        """How many tasks may run at once."""
        return max(1, self.services)


class Agent:
    """Serves queues of one store until stopped, drained (burst) or done (max tasks).

    Construct, then call :meth:`run` once (blocking). :meth:`request_stop` may be called from any
    thread or a signal handler.
    """

    def __init__(
        self, store: TaskStore, options: AgentOptions, *, environ: Mapping[str, str] | None = None
    ) -> None:
        """``store``: the store to serve (the caller closes it); ``environ``: the environment task
        processes inherit, before ``options.child_env`` (default: this process's)."""
        self._store = store
        self._opts = options
        env = child_environment(os.environ if environ is None else environ, options.child_env)
        preload = [*options.preload, *_store_modules(store.url)]
        self._spawner = Spawner(
            env=env,
            preload=preload,
            sys_path=[options.cwd or os.getcwd()],
            cwd=options.cwd,
            ledger=options.cache_dir / "children",
        )
        builder = EnvironmentBuilder(options.cache_dir, installed_distributions(), taskmill_requirement())
        self._ctx = ExecutionContext(store, options.worker_id, self._spawner, builder)
        self._tokens: queue.SimpleQueue[tuple[str, object]] = queue.SimpleQueue()
        self._lock = threading.Lock()  # guards _running
        self._running: dict[str, Execution] = {}
        self._waiting: list[tuple[TaskRecord, int]] = []  #: claimed tasks waiting for N GPUs
        visible = options.child_env.get("CUDA_VISIBLE_DEVICES")
        self._gpus = None if visible is None else GpuPool.from_visible(visible)
        self._claimed = 0
        self._stop_reason: str | None = None
        self._missing_queue_warned = False
        self._heartbeat = Heartbeat(
            store,
            options.worker_id,
            queues=options.queues,
            info=self._info(),
            interval=options.heartbeat,
            dead_after=options.dead_after,
            current_task=self._current_task,
        )
        self._watcher: EventWatcher | None = None

    @property
    def worker_id(self) -> str:
        """This agent's id in the store."""
        return self._opts.worker_id

    @property
    def tasks_run(self) -> int:
        """How many tasks this agent has claimed so far."""
        return self._claimed

    def request_stop(self, reason: str) -> None:
        """Ask the agent to stop: no new claims, running tasks aborted. Non-blocking; signal-safe."""
        self._tokens.put(("stop", reason))

    # -- main loop -------------------------------------------------------------------------------

    def run(self) -> int:
        """Serve the queues; returns the exit code (0). Blocking until the agent ends.

        Missing queues are created (and logged) unless ``create_queues`` is off; then it raises
        NotFoundError naming the queue. Also raises ConflictError when a live agent has the same id,
        and ExecutionError when the warm worker cannot start.
        """
        self._start()
        try:
            self._loop()
        finally:
            self._shutdown()
        return 0

    def _loop(self) -> None:
        opts = self._opts
        while True:
            self._handle_tokens(block=False)
            if self._stop_reason is not None:
                return
            budget = opts.max_tasks is None or self._claimed < opts.max_tasks
            with self._lock:
                busy = len(self._running) + len(self._waiting)
            if not budget and not busy:
                logger.info("ran %d task(s) (--max-tasks): exiting", self._claimed)
                return
            if budget and busy < opts.slots:
                try:
                    record = self._store.claim(opts.queues, opts.worker_id)
                except QueueNotFoundError as exc:
                    if not self._missing_queue_warned:
                        logger.warning("%s; waiting for it to be created", exc)
                        self._missing_queue_warned = True
                    record = None
                except StoreError as exc:
                    logger.warning("cannot claim from the store (retrying in %.0f s): %s", opts.recheck, exc)
                    self._handle_tokens(block=True)
                    continue
                if record is not None:
                    self._launch(record)
                    continue
                if opts.burst and not busy:
                    logger.info("queues %s are empty: exiting (burst mode)", ", ".join(opts.queues))
                    return
            self._handle_tokens(block=True)

    def _handle_tokens(self, *, block: bool) -> None:
        """Take wake-up tokens: one (waiting up to ``recheck`` s) when ``block``, else all waiting."""
        timeout = self._opts.recheck if block else None
        while True:
            try:
                kind, value = self._tokens.get(block=block, timeout=timeout)
            except queue.Empty:
                return
            if kind == "stop" and self._stop_reason is None:
                self._stop_reason = str(value)
                logger.info("stopping (%s)", value)
            elif kind == "done" and isinstance(value, ThreadedExecution):
                self._finished(value)
            if block:
                return

    def _launch(self, record: TaskRecord) -> None:
        self._claimed += 1
        try:
            need = resources_of(record.runtime).gpu or 0
        except ResourceError as exc:
            self._refuse(record, f"its resources cannot be read: {exc}")
            return
        if need and self._gpus is not None:
            if need > self._gpus.total:
                have = self._gpus.total
                self._refuse(record, f"it asks for {need} GPU(s); agent {self._opts.worker_id} has {have}")
                return
            devices = self._gpus.take(record.id, need)
            if devices is None:
                logger.info("task %s waits for %d GPU(s) (all of this agent's are busy)", record.id, need)
                with self._lock:
                    self._waiting.append((record, need))
                return
            self._execute(record, {"CUDA_VISIBLE_DEVICES": ",".join(devices)})
            return
        self._execute(record, {})

    def _refuse(self, record: TaskRecord, why: str) -> None:
        logger.warning("task %s cannot run here: %s", record.id, why)
        self._store.set_status(record.id, TaskStatus.failed, message=f"not run: {why}", force=True)

    def _start_waiting(self) -> None:
        """Start waiting tasks, in order, while the first one's GPUs are free."""
        while self._gpus is not None:
            with self._lock:
                if not self._waiting:
                    return
                record, need = self._waiting[0]
                devices = self._gpus.take(record.id, need)
                if devices is None:
                    return
                self._waiting.pop(0)
            self._execute(record, {"CUDA_VISIBLE_DEVICES": ",".join(devices)})

    def _execute(self, record: TaskRecord, assigned: Mapping[str, str]) -> None:
        """Run ``record`` with ``assigned`` (its GPUs) in its environment."""
        execution: Execution
        opts = self._opts
        if opts.containers is not None:
            env = {**opts.child_env, **assigned}
            execution = ContainerExecution(
                self._store, opts.worker_id, self._spawner, opts.containers, env, record, self._on_done
            )
        else:
            if assigned:
                self._spawner.assign(record.id, assigned)
            execution = TaskExecution(self._ctx, record, self._on_done)
        with self._lock:
            self._running[record.id] = execution
        logger.info("running task %s (%s) from queue '%s'", record.id, record.name, record.queue)
        execution.start()
        self._heartbeat.poke()

    def _on_done(self, execution: Execution) -> None:
        self._tokens.put(("done", execution))

    def _finished(self, execution: Execution) -> None:
        with self._lock:
            self._running.pop(execution.task_id, None)
        execution.join()
        logger.info("task %s ended %s", execution.task_id, execution.outcome)
        self._spawner.release(execution.task_id)
        if self._gpus is not None:
            self._gpus.give_back(execution.task_id)
            if self._stop_reason is None:
                self._start_waiting()

    def _on_stopped(self, task_id: str) -> None:
        """Watcher callback: a task was set ``stopped``; kill it if it is ours (off the watcher thread)."""
        with self._lock:
            execution = self._running.get(task_id)
            waited = [w for w in self._waiting if w[0].id == task_id]
            self._waiting = [w for w in self._waiting if w[0].id != task_id]
        if waited:
            logger.info("task %s was aborted while it waited for GPUs", task_id)
            self._tokens.put(("wake", None))  # its slot is free
        if execution is not None:
            logger.info("task %s was aborted: stopping its process", task_id)
            threading.Thread(
                target=execution.abort, name=f"taskmill-abort-{task_id[:8]}", daemon=True
            ).start()

    def _current_task(self) -> str | None:
        with self._lock:
            return next(iter(self._running), None)

    # -- start and stop --------------------------------------------------------------------------

    def _start(self) -> None:
        opts, store = self._opts, self._store
        for name in opts.queues:
            try:
                store.get_queue(name)
            except QueueNotFoundError as exc:
                if not opts.create_queues:
                    raise NotFoundError(
                        f"no queue named '{name}'; create it with `taskmill queues create {name}`, "
                        "or start the agent without --no-create-queue"
                    ) from exc
                # Idempotent: another agent creating it at the same moment is fine.
                store.create_queue(name)
                logger.info("created queue '%s' (it did not exist)", name)
        for worker in store.list_workers():
            silent = time.time() - worker.last_seen
            if worker.id == opts.worker_id and silent < opts.dead_after:
                raise ConflictError(
                    f"agent id '{worker.id}' is in use by a live agent (last heartbeat {silent:.1f} s ago); "
                    "give this agent another --id"
                )
        self._spawner.start()
        after = store.last_event_id()  # before the first claim: no enqueue after it goes unseen
        try:
            store.register_worker(opts.worker_id, opts.queues, self._info())
            for task_id in fail_orphaned_tasks(store, opts.worker_id):
                logger.warning(
                    "task %s was left running by an earlier agent %s: marked failed", task_id, opts.worker_id
                )
            if store.url.startswith(("http://", "https://")):
                logger.info("the server judges agents' liveness (taskmill server --dead-after)")
            else:  # no server: agents judge each other
                reap_dead_workers(store, me=opts.worker_id, dead_after=opts.dead_after)
        except BaseException:
            self._spawner.close()
            raise
        self._watcher = EventWatcher(store, after, on_queued=self._wake, on_stopped=self._on_stopped)
        self._watcher.start()
        self._heartbeat.start()
        mode = f"services mode, up to {opts.slots} at once" if opts.services else "one task at a time"
        logger.info("agent %s serving %s (%s)", opts.worker_id, ", ".join(opts.queues), mode)

    def _wake(self) -> None:
        self._tokens.put(("wake", None))

    def _shutdown(self) -> None:
        with self._lock:
            running = list(self._running.values())
            waiting, self._waiting = self._waiting, []
        cause = self._stop_reason or "error"
        for record, _ in waiting:
            message = f"agent {self._opts.worker_id} was stopped ({cause}) while this task waited for GPUs"
            self._store.set_status(record.id, TaskStatus.stopped, message=message, force=True)
        if running:
            why = f"agent {self._opts.worker_id} was stopped ({cause}) while running this task"
            for execution in running:
                logger.info("aborting task %s: the agent is stopping", execution.task_id)
            aborts = [threading.Thread(target=e.abort, args=(why,), daemon=True) for e in running]
            for thread in aborts:
                thread.start()
            for execution in running:
                execution.join()
        if self._watcher is not None:
            self._watcher.stop()
        self._heartbeat.stop()
        self._spawner.close()
        try:
            self._store.unregister_worker(self._opts.worker_id)
        except StoreError as exc:
            logger.warning("could not unregister agent %s: %s", self._opts.worker_id, exc)
        if self._watcher is not None:
            self._watcher.join()
        logger.info("agent %s stopped after %d task(s)", self._opts.worker_id, self._claimed)

    def _info(self) -> dict[str, JSONValue]:
        opts = self._opts
        return {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "python": sys.version.split()[0],
            "taskmill": __version__,
            "mode": "services" if opts.services else "single",
            "slots": opts.slots,
            "burst": opts.burst,
            # what --gpus / --cpu-only gave the tasks ("" = none); absent: the agent's own setting
            **(
                {"gpus": opts.child_env["CUDA_VISIBLE_DEVICES"]}
                if "CUDA_VISIBLE_DEVICES" in opts.child_env
                else {}
            ),
        }
