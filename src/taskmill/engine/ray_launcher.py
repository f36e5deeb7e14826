"""The ``ray`` launcher: each step as a process started by a Ray task (``taskmill[ray]``).

``ray@ray://head:10001`` (or ``ray@head:6379``, ``ray@auto``) connects to an existing cluster;
plain ``ray`` uses the Ray already initialised in this process, else starts a local one
(``ray.init(num_cpus=2)``) and shuts it down with the run.

A step is one Ray task that runs the step process
(``python -m taskmill.engine.step_entry <target> <task id>``, see
:mod:`taskmill.engine.step_entry`) and returns its exit code. Everything else comes from
:class:`~taskmill.engine.launcher_api.TrackedLauncher`: a step whose process or worker died
without recording an end is failed with what happened. Abort is ``ray.cancel``: a waiting task
never starts; a running one is interrupted and kills the step's process group.

A step reserves one CPU on a cluster given by address. On the local cluster the reservation is
split so the run's ``max_parallel`` steps can run at once (a step's Ray task only waits for
its process; the processes share the machine as the process launcher's do).

A step's ``resources`` (``{"cpu": 4, "memory": "16Gi", "gpu": 1}``, see
:mod:`taskmill.core.resources`) become its task's ``num_cpus``, ``memory`` and ``num_gpus``;
on a local cluster this launcher started, a request larger than the cluster fails the step at
once (Ray would keep an infeasible task waiting forever).

Workers must reach the store and the artifacts: the embedded SQLite store is single-machine, so
a remote cluster with it is refused when the run starts.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from taskmill.core.resources import parse_resources, ray_options
from taskmill.engine.launcher_api import (
    LauncherContext,
    LaunchRequest,
    TrackedLauncher,
    exit_reason,
    is_local_address,
)
from taskmill.engine.step_entry import run_step_process
from taskmill.errors import ExecutionError

#: CPUs of a local cluster (``ray.init(num_cpus=2)``)
LOCAL_CPUS = 2


def ray_module() -> Any:
    """The ``ray`` module (typed loosely: an optional dependency). ExecutionError naming the
    extra when it is not installed."""
    try:
        return importlib.import_module("ray")
    except ImportError as exc:
        raise ExecutionError("the 'ray' launcher needs Ray: pip install 'taskmill[ray]'") from exc


def run_in_task(argv: Sequence[str], env: Mapping[str, str], cwd: str | None) -> int:
    """What a Ray task runs for one step: the step process, until it exits. Blocking; returns
    its exit code. ``ray.cancel`` interrupts it (KeyboardInterrupt), which kills the process."""
    return run_step_process(argv, env, cwd=cwd, poll=0.25)


class RayLauncher(TrackedLauncher):
    """Steps as Ray tasks (see the module docstring)."""

    def __init__(self, ctx: LauncherContext) -> None:
        super().__init__(ctx.store)
        self._ctx = ctx
        self._ray: Any = None
        self._remote: Any = None
        self._function: Any = None
        self._defaults: dict[str, Any] = {}
        self._owns_ray = False
        self._refs: dict[str, Any] = {}
        self._lock = threading.Lock()

    def start(self) -> None:
        """Connect to the cluster, or start a local one. Blocking (seconds). Idempotent."""
        if self._ray is not None:
            return
        ray = ray_module()
        address = self._ctx.address
        if address is not None and not is_local_address(address):
            self._ctx.refuse_single_machine_store(f"the Ray cluster at {address}")
        if not ray.is_initialized():
            options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
            if address is None:
                options["num_cpus"] = LOCAL_CPUS
            else:
                options["address"] = address
            ray.init(**options)
            self._owns_ray = True
        cpus = 1.0 if address is not None else max(0.01, LOCAL_CPUS / max(1, self._ctx.max_parallel))
        self._defaults = {"num_cpus": round(cpus, 4), "max_retries": 0}
        self._function = ray.remote(run_in_task)
        self._remote = self._function.options(**self._defaults)
        self._ray = ray
        self._ctx.console(f"Ray launcher: {ray.cluster_resources().get('CPU', 0):g} CPUs")

    def submit(self, request: LaunchRequest) -> None:
        if self._ray is None:
            self.start()
        task_id = request.task_id
        asked = self._asked(request)
        remote = self._function.options(**{**self._defaults, **asked}) if asked else self._remote
        ref = remote.remote(self._ctx.step_argv(request), self._ctx.step_env(), self._ctx.cwd)
        with self._lock:
            self._refs[task_id] = ref
        ref.future().add_done_callback(lambda f: self._finished(task_id, f))

    def _asked(self, request: LaunchRequest) -> dict[str, float | int]:
        """The step's Ray options; ExecutionError when this launcher's own local cluster cannot
        ever run it."""
        asked = ray_options(parse_resources(request.node.spec.resources))
        if asked and self._owns_ray and self._ctx.address is None:
            totals = self._ray.cluster_resources()
            for option, name in (("num_cpus", "CPU"), ("num_gpus", "GPU"), ("memory", "memory")):
                have = float(totals.get(name, 0))
                if float(asked.get(option, 0)) > have:
                    raise ExecutionError(
                        f"step '{request.node.spec.name}' asks for {option}={asked[option]:g}; the "
                        f"local Ray cluster has {have:g}: run it on a bigger cluster (ray@ADDRESS)"
                    )
        return asked

    def _finished(self, task_id: str, future: Any) -> None:
        with self._lock:
            self._refs.pop(task_id, None)
        try:
            why = exit_reason(int(future.result()))
        except Exception as exc:  # a cancelled task, a crashed worker: the step had no end of its own
            why = f"ray task ended: {type(exc).__name__}"
        self.ended(task_id, why)

    def cancel(self, task_id: str) -> None:
        with self._lock:
            ref = self._refs.get(task_id)
        if ref is not None and self._ray is not None:
            self._ray.cancel(ref)

    def close(self) -> None:
        """Cancel steps still running, wait briefly for them, and shut a Ray this launcher
        started down. Blocking (seconds). Idempotent."""
        ray = self._ray
        if ray is None:
            return
        with self._lock:
            refs = list(self._refs.values())
        for ref in refs:
            ray.cancel(ref)
        if refs:
            ray.wait(refs, num_returns=len(refs), timeout=10)  # each task kills its step's process
        for task_id in self.running():
            self.ended(task_id, "ray launcher closed")
        self._ray = None
        if self._owns_ray:
            ray.shutdown()
