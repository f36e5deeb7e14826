"""Choosing a launcher by name: built-ins, the ``taskmill.launchers`` entry points, per-step routing.

A launcher is named by a *launcher spec*: ``NAME`` or ``NAME@ADDRESS``, e.g. ``process``,
``dask``, ``dask@tcp://10.0.0.5:8786``, ``ray@ray://head:10001``. The address is handed to the
launcher (:attr:`~taskmill.engine.launcher_api.LauncherContext.address`); without one, cluster
launchers start a local cluster.

Where a spec comes from, first match wins: a step's own (``add_function_step(launcher=...)``,
``@PipelineDecorator.component(launcher=...)``), then the run's (``start_locally(launcher=...)``,
``PipelineDecorator.run_locally(launcher=...)``), then ``TASKMILL_LAUNCHER``.

Built-in names: ``process`` (a local process per step, forked from a warm worker), ``dask``
(``pip install taskmill[dask]``) and ``ray`` (``taskmill[ray]``). A package adds launchers by
declaring entry points in the group ``taskmill.launchers`` (:data:`ENTRY_POINT_GROUP`)::

    [project.entry-points."taskmill.launchers"]
    slurm = "taskmill_slurm:SlurmLauncher"

An entry point names a factory called with a
:class:`~taskmill.engine.launcher_api.LauncherContext` that returns a
:class:`~taskmill.engine.launcher_api.Launcher` (a launcher class taking the context works).
Entry points are read lazily, when a run names a launcher that is not built in, never at import;
a built-in name cannot be taken over. How to write a launcher:
:mod:`taskmill.engine.launcher_api`.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import Final

from taskmill.engine.launcher_api import Launcher, LauncherContext, LaunchRequest
from taskmill.engine.launchers import ProcessLauncher
from taskmill.engine.nodes import Node, StepHooks
from taskmill.errors import ExecutionError

#: The entry-point group third-party packages declare their launchers in.
ENTRY_POINT_GROUP: Final = "taskmill.launchers"

#: The environment variable naming the default launcher spec of local runs.
LAUNCHER_ENV: Final = "TASKMILL_LAUNCHER"

LauncherFactory = Callable[[LauncherContext], Launcher]


def process_launcher(ctx: LauncherContext) -> Launcher:
    """The ``process`` launcher: each step in a process forked from a warm worker."""
    return ProcessLauncher(
        ctx.store, ctx.targets, env=ctx.env, sys_path=ctx.sys_path, preload=ctx.preload, cwd=ctx.cwd
    )


#: Built-in launchers, as ``"module:factory"`` so that naming one imports nothing else.
BUILTIN_LAUNCHERS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "process": f"{__name__}:process_launcher",
        "dask": "taskmill.engine.dask_launcher:DaskLauncher",
        "ray": "taskmill.engine.ray_launcher:RayLauncher",
    }
)


def with_launcher(hooks: StepHooks, launcher: str | None) -> StepHooks:
    """``hooks`` carrying the step launcher spec ``launcher`` (unchanged when None)."""
    if launcher is None:
        return hooks
    parse_spec(launcher)  # a malformed spec fails where the step is defined
    return replace(hooks, launcher=launcher)


def step_launcher(node: Node) -> str | None:
    """The launcher spec a step asked for (None: the run's)."""
    return node.hooks.launcher


def parse_spec(spec: str) -> tuple[str, str | None]:
    """``"NAME"`` / ``"NAME@ADDRESS"`` -> ``(name, address or None)``; ExecutionError when empty."""
    name, _, address = spec.strip().partition("@")
    if not name:
        raise ExecutionError(
            f"launcher '{spec}': expected NAME or NAME@ADDRESS (e.g. 'dask@tcp://host:8786')"
        )
    return name, address or None


def find_launcher(name: str) -> LauncherFactory:
    """The factory of launcher ``name``: a built-in, else an entry point of
    :data:`ENTRY_POINT_GROUP`. Blocking (imports it). ExecutionError naming the known ones when
    there is none, or it cannot be loaded."""
    target = BUILTIN_LAUNCHERS.get(name)
    if target is not None:
        module, _, attr = target.partition(":")
        factory: object = getattr(importlib.import_module(module), attr)
    else:
        # Imported here: distribution metadata is read only when a run names a plugin launcher.
        from importlib.metadata import entry_points

        points = {p.name: p for p in entry_points(group=ENTRY_POINT_GROUP)}
        if name not in points:
            known = sorted({*BUILTIN_LAUNCHERS, *points})
            raise ExecutionError(f"unknown launcher '{name}'; known launchers: {', '.join(known)}")
        try:
            factory = points[name].load()
        except Exception as exc:  # plugin code: anything may come out of it
            raise ExecutionError(
                f"launcher '{name}' ({points[name].value}) cannot be loaded: {exc!r}"
            ) from exc
    if not callable(factory):
        raise ExecutionError(f"launcher '{name}' is a {type(factory).__qualname__}, not a launcher factory")
    return factory  # any callable: what it returns is checked by build_launcher


def build_launcher(spec: str, ctx: LauncherContext) -> Launcher:
    """A launcher for ``spec`` (``NAME[@ADDRESS]``), not yet started. Blocking (imports it)."""
    name, address = parse_spec(spec)
    launcher = find_launcher(name)(replace(ctx, address=address))
    if not isinstance(launcher, Launcher):
        raise ExecutionError(f"launcher '{name}' gave a {type(launcher).__qualname__}, not a Launcher")
    return launcher


class RoutingLauncher(Launcher):
    """The run's launcher, and the launchers its steps ask for by spec (built and started on a
    step's first launch, closed with the run). A step without its own spec goes to ``default``.

    A routed step counts as started when it is launched (a launcher reporting starts is only
    needed for queues).
    """

    def __init__(
        self,
        default: Launcher,
        make: Callable[[str], Launcher],
        choose: Callable[[Node], str | None] = step_launcher,
    ) -> None:
        self._default = default
        self._make = make
        self._choose = choose
        self._routes: dict[str, Launcher] = {}
        self._owner: dict[str, Launcher] = {}
        self._lock = threading.Lock()
        self.in_process = default.in_process
        self.reports_start = default.reports_start
        # A routed step's task must not be created running: its own launcher starts it.
        self.starts_immediately = False

    def starts_immediately_for(self, node: Node) -> bool:
        """A step the default launcher runs starts as the default's do; a routed one is started
        by its own launcher (its task must not be created running)."""
        return self._choose(node) is None and self._default.starts_immediately_for(node)

    def start(self) -> None:
        self._default.start()

    def _route(self, spec: str) -> Launcher:
        with self._lock:
            launcher = self._routes.get(spec)
            if launcher is None:
                launcher = self._routes[spec] = self._make(spec)
                launcher.start()
        return launcher

    def launch(self, request: LaunchRequest) -> None:
        spec = self._choose(request.node)
        launcher = self._default if spec is None else self._route(spec)
        with self._lock:
            self._owner[request.task_id] = launcher
        launcher.launch(request)
        if spec is not None and request.started is not None and not launcher.reports_start:
            request.started(request.task_id)

    def abort(self, task_id: str) -> None:
        with self._lock:
            launcher = self._owner.get(task_id, self._default)
        launcher.abort(task_id)

    def close(self) -> None:
        with self._lock:
            routes, self._routes = list(self._routes.values()), {}
        for launcher in (*routes, self._default):
            launcher.close()
