"""What :class:`~taskmill.automation.scheduler.TaskScheduler` and
:class:`~taskmill.automation.trigger.TriggerScheduler` share: their own service task, their state
in the store, the lease that keeps two copies from firing at once, launching, and the run loop.

**The service task.** A scheduler reports to a task of type ``service``: the current task when
there is one (under an agent that is the agent's task, so a restarted service finds its state),
else the most recent task with the same project and name (``DevOps``/``Scheduler`` by default, as
in ClearML) and the service's system tag, else a new one made with ``Task.create`` for the main
script. Unlike ClearML, constructing a scheduler never calls ``Task.init``: it does not take over
this process's console. ``start_remotely()`` hands that task to an agent (``services`` queue).

**State** (what fired, when, and the lease) is one JSON object in the service task's runtime
property ``_automation/state``, read and written inside one store transaction (``batch``) per
change. A tick or event is recorded as *claimed before* anything is launched for it, so a service
that dies and restarts never fires twice for it; a crash between the claim and the launch loses
that one launch instead (at most once, on purpose).

**The lease.** ``start()`` takes a lease in the state (owner ``host:pid``, valid for
:data:`LEASE_SECONDS` of the service's clock) and renews it while running; a second copy started
meanwhile waits until the lease lapses, then takes over. A lease whose owner is a process of this
machine that no longer exists lapses at once (a killed service restarted here does not wait).
``step()`` ignores the lease (tests, manual runs).
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from taskmill.api.session import PROCESS
from taskmill.api.task import Task
from taskmill.automation.clock import Clock
from taskmill.automation.job import ClearmlJob
from taskmill.core.states import TaskStatus, TaskTypes
from taskmill.core.stored import AUTOMATION_STATE

logger = logging.getLogger("taskmill.automation")

STATE_KEY = AUTOMATION_STATE
LEASE_SECONDS = 60.0  #: how long a lease lasts without renewal (clock seconds)
MAX_EVENTS = 200  #: recent fires/skips kept in the state for people to read
RETRY_SECONDS = 15.0  #: pause after a failed step before trying again


@dataclass
class Target:
    """What a schedule entry or trigger launches: a clone of a task (or a pipeline run) on a
    queue, or a function called on a thread of the service's process."""

    name: str
    base_task_id: str | None = None
    base_function: Callable[..., Any] | None = None
    queue: str | None = None
    target_project: str | None = None
    single_instance: bool = False
    task_parameters: dict[str, Any] = field(default_factory=dict)
    task_overrides: dict[str, Any] = field(default_factory=dict)
    clone_task: bool = True

    def verify(self) -> None:
        """ValueError unless exactly one of task id and function is set (a task needs a queue)."""
        if bool(self.base_task_id) == bool(self.base_function):
            raise ValueError("give exactly one of schedule_task_id and schedule_function")
        if self.base_task_id and not self.queue:
            raise ValueError(f"'{self.name}': a scheduled task needs queue= (the queue an agent serves)")

    def function_name(self) -> str:
        """``module.qualname`` of the function ("" for a task target)."""
        fn = self.base_function
        if fn is None:
            return ""
        return f"{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', repr(fn))}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-able description (the function by name)."""
        return {
            "name": self.name,
            "base_task_id": self.base_task_id or "",
            "base_function": self.function_name(),
            "queue": self.queue or "",
            "target_project": self.target_project or "",
            "single_instance": self.single_instance,
            "task_parameters": dict(self.task_parameters),
            "task_overrides": dict(self.task_overrides),
            "clone_task": self.clone_task,
        }


@dataclass
class Fire:
    """What one due tick or matched event did: launched a task or a thread, or was skipped."""

    job: str
    key: str
    task_id: str | None = None
    thread: threading.Thread | None = None
    skipped: str = ""  #: why nothing was launched ("" when something was)

    @property
    def launched(self) -> bool:
        """True when a task was queued or a function started."""
        return not self.skipped


def substitute(value: Any, placeholder: str, object_id: str) -> Any:
    """``value`` with ``placeholder`` (e.g. ``${dataset.id}``) replaced by ``object_id``."""
    if isinstance(value, str):
        return value.replace(placeholder, object_id)
    return value


def _alive(owner: str) -> bool:
    """False when ``owner`` (``host:pid``) is a process of this host that no longer exists: its
    lease lapses at once (a killed service restarted on the same machine need not wait)."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def _main_script() -> str | None:
    path = sys.argv[0] if sys.argv else ""
    return path if path.endswith(".py") and Path(path).is_file() else None


class ServiceBase:
    """The service task, state, lease, launching and run loop (see the module docstring)."""

    _system_tag = "scheduler"
    _default_name = "Scheduler"

    def __init__(
        self,
        sync_frequency_minutes: float = 15,
        force_create_task_name: str | None = None,
        force_create_task_project: str | None = None,
        pooling_frequency_minutes: float | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._sync_seconds = max(1.0, float(sync_frequency_minutes) * 60.0)
        self._poll_seconds = (
            None if pooling_frequency_minutes is None else float(pooling_frequency_minutes) * 60
        )
        self._clock = clock or Clock()
        self._stop = threading.Event()
        self._threads: dict[str, threading.Thread] = {}
        self._owner = f"{socket.gethostname()}:{os.getpid()}"
        self._task = self._service_task(force_create_task_name, force_create_task_project)

    # == the service task and its state ======================================================

    def _service_task(self, name: str | None, project: str | None) -> Task:
        current = Task.current_task()
        if current is not None and not name:
            return current
        name = name or self._default_name
        project = project or "DevOps"
        flt = {"system_tags": [self._system_tag], "order_by": ["-last_update"]}
        for task in Task.get_tasks(project_name=project, task_name=name, task_filter=flt):
            if task.name == name:
                return task
        task = Task.create(
            project_name=project, task_name=name, task_type=TaskTypes.service, script=_main_script()
        )
        task.set_system_tags([*task.get_system_tags(), self._system_tag])
        return task

    @property
    def task(self) -> Task:
        """The service's own task (where its state, log and tables are)."""
        return self._task

    @property
    def clock(self) -> Clock:
        """The clock this service reads."""
        return self._clock

    def get_state(self) -> dict[str, Any]:
        """A copy of the stored state (``jobs``/``triggers``, ``events``, ``lease``)."""
        value = self._task.get_runtime_properties().get(STATE_KEY)
        return dict(value) if isinstance(value, dict) else {}

    @contextmanager
    def _state(self) -> Iterator[dict[str, Any]]:
        """Read-modify-write the state in one store transaction."""
        with PROCESS.session().store.batch():
            state = self.get_state()
            yield state
            self._task.set_runtime_properties({STATE_KEY: state})

    def _event(self, state: dict[str, Any], fire: Fire, action: str, reason: str = "") -> None:
        events = list(state.get("events") or [])
        events.append(
            {
                "time": self._clock.now(),
                "job": fire.job,
                "key": fire.key,
                "action": action,
                "reason": reason,
                "task_id": fire.task_id or "",
            }
        )
        state["events"] = events[-MAX_EVENTS:]

    def _log(self, message: str, level: int = logging.INFO) -> None:
        logger.log(level, "%s: %s", self._default_name, message)
        try:
            self._task.get_logger().report_text(message, level=level, print_console=False)
        except Exception as exc:  # the log is a convenience: never let it stop the service
            logger.warning("could not write to the service task's log: %s", exc)

    # == the lease ===========================================================================

    def _take_lease(self) -> bool:
        now = self._clock.now()
        with self._state() as state:
            lease = state.get("lease") or {}
            owner = lease.get("owner")
            held = float(lease.get("until") or 0) > now and owner not in (None, self._owner)
            if held and _alive(str(owner)):
                return False
            state["lease"] = {"owner": self._owner, "until": now + LEASE_SECONDS}
        return True

    def _acquire_lease(self) -> bool:
        warned = False
        while not self._stop.is_set():
            if self._take_lease():
                return True
            if not warned:
                holder = (self.get_state().get("lease") or {}).get("owner")
                self._log(f"another copy ({holder}) holds the lease; waiting for it to lapse")
                warned = True
            self._clock.sleep(min(5.0, LEASE_SECONDS / 4), self._stop)
        return False

    def _release_lease(self) -> None:
        with self._state() as state:
            if (state.get("lease") or {}).get("owner") == self._owner:
                state.pop("lease", None)

    # == launching ===========================================================================

    def _still_running(self, target: Target, last_task_id: str | None) -> bool:
        if target.base_function is not None:
            thread = self._threads.get(target.name)
            return thread is not None and thread.is_alive()
        if not last_task_id:
            return False
        try:
            status = Task.get_task(task_id=last_task_id).status
        except Exception:
            return False
        return status in (TaskStatus.queued, TaskStatus.in_progress)

    def _launch(
        self,
        target: Target,
        key: str,
        *,
        parameters: Mapping[str, Any] | None = None,
        overrides: Mapping[str, Any] | None = None,
        tags: Sequence[str] = (),
        args: Sequence[Any] = (),
        last_task_id: str | None = None,
        launched_by: Mapping[str, Any] | None = None,
    ) -> Fire:
        """Launch ``target`` once (blocking until it is queued or its thread started). A launched
        task records ``launched_by`` (default: this service, the entry's name and ``key``) in its
        runtime property ``_automation/launched_by``."""
        fire = Fire(job=target.name, key=key)
        if target.single_instance and self._still_running(target, last_task_id):
            fire.skipped = "single_instance: the previous run is still running"
            return fire
        if target.base_function is not None:
            thread = threading.Thread(
                target=self._call,
                args=(target.name, target.base_function, tuple(args)),
                name=f"taskmill-{self._system_tag}-{target.name}",
                daemon=True,
            )
            self._threads[target.name] = thread
            thread.start()
            fire.thread = thread
            return fire
        try:
            job = ClearmlJob(
                base_task_id=str(target.base_task_id),
                parameter_override=dict(parameters if parameters is not None else target.task_parameters),
                task_overrides=dict(overrides if overrides is not None else target.task_overrides),
                tags=list(tags),
                disable_clone_task=not target.clone_task,
                target_project=target.target_project,
            )
        except Exception as exc:
            fire.skipped = f"could not create the task: {type(exc).__name__}: {exc}"
            return fire
        fire.task_id = job.task_id()
        origin = dict(launched_by or {"service": self._task.id, "job": target.name, "key": key})
        job.task.set_runtime_properties({"_automation/launched_by": origin})
        if not job.launch(queue_name=target.queue):
            fire.skipped = (
                f"queue '{target.queue}' does not exist; "
                f"create it with `taskmill queues create {target.queue}`"
            )
        return fire

    def _call(self, name: str, function: Callable[..., Any], args: tuple[Any, ...]) -> None:
        try:
            function(*args)
        except Exception:
            self._log(f"'{name}' raised:\n{traceback.format_exc()}", logging.ERROR)

    def join_functions(self, timeout: float | None = None) -> None:
        """Wait for the function runs started by this object (tests, clean shutdown)."""
        for thread in list(self._threads.values()):
            thread.join(timeout)

    # == running =============================================================================

    def _definition(self) -> dict[str, str]:
        """Configuration objects describing what the service does (name -> JSON text)."""
        return {}

    def _serialize(self) -> None:
        for name, text in self._definition().items():
            self._task.set_configuration_object(name, config_text=text, config_type="json")

    def step(self) -> list[Fire]:
        """Fire what is due now, once; returns what fired or was skipped. Blocking, not lease-checked."""
        raise NotImplementedError

    def _sleep_seconds(self) -> float:
        """How long the loop may wait before the next step."""
        return self._sync_seconds

    def _wait(self, seconds: float) -> None:
        self._clock.sleep(seconds, self._stop)

    def _should_stop(self) -> bool:
        if self._stop.is_set():
            return True
        if self._task.status == TaskStatus.stopped:  # aborted from the CLI or the web UI
            self._log("the service task was stopped: exiting")
            return True
        return False

    def start(self) -> None:
        """Run the service here until :meth:`stop` is called or its task is aborted (blocking;
        ClearML's never returns). Takes the lease first (waits while another copy holds it). A
        step that raises is logged to the service task and retried after ``RETRY_SECONDS``."""
        self._stop.clear()
        self._serialize()
        if not self._acquire_lease():
            return
        if self._task.status != TaskStatus.in_progress:
            self._task.mark_started(force=True)
        self._log(f"{self._default_name} started (owner {self._owner})")
        try:
            while not self._should_stop():
                try:
                    self.step()
                except Exception:  # a store hiccup must not end a long-running service
                    self._log(f"step failed, retrying shortly:\n{traceback.format_exc()}", logging.ERROR)
                    self._wait(RETRY_SECONDS)
                    continue
                if not self._take_lease():
                    self._log("lost the lease to another copy: exiting", logging.WARNING)
                    return
                wait = self._sleep_seconds()
                if self._clock.is_real:
                    wait = min(wait, self._sync_seconds, LEASE_SECONDS / 3)
                self._wait(max(0.0, wait))
        finally:
            self._release_lease()
            self._log(f"{self._default_name} stopped")
            stopped_here = self._stop.is_set() and self._task is not Task.current_task()
            if stopped_here and self._task.status == TaskStatus.in_progress:
                self._task.mark_completed(status_message=f"{self._default_name} stopped")

    def run_until(self, when: float) -> None:
        """Run the loop until the clock reaches ``when`` (epoch seconds): with a
        :class:`~taskmill.automation.clock.ManualClock` this replays that stretch of time at once."""
        self._stop.clear()
        self._serialize()
        if not self._acquire_lease():
            return
        try:
            while not self._stop.is_set() and self._clock.now() < when:
                self.step()
                self._take_lease()
                wait = min(self._sleep_seconds(), when - self._clock.now())
                if self._clock.is_real:
                    wait = min(wait, LEASE_SECONDS / 3)
                self._wait(max(0.0, wait))
            self.step()
        finally:
            self._release_lease()

    def start_remotely(self, queue: str = "services") -> None:
        """Hand the service task to an agent on ``queue`` and exit this process (ClearML's
        semantics); under that agent this same call runs :meth:`start`. The ``services`` queue is
        created when missing; serve it with ``taskmill agent --queue services --services-mode``."""
        if not Task.running_locally():
            self.start()
            return
        self._serialize()
        if queue == "services":
            PROCESS.session().store.create_queue(queue)
        self._log(f"handing over to queue '{queue}'")
        self._task.execute_remotely(queue_name=queue, exit_process=True)

    def stop(self) -> None:
        """Ask a running :meth:`start` loop to end (returns at once; the loop ends within a
        moment, after any launch in progress)."""
        self._stop.set()
