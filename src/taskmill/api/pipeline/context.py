"""``DECORATOR``: the process state of ``PipelineDecorator``, in one typed place.

ClearML's decorator API has class-level switches that hold for the whole process
(``PipelineDecorator.run_locally()``, ``debug_pipeline()``, ``set_default_execution_queue()``)
and a "current pipeline" that a component call finds without being handed it. This module holds
exactly that, and nothing else:

* ``mode`` and ``default_queue``: the switches (process-wide, guarded by a lock);
* ``current``: the pipeline function running in this thread or context (a ``ContextVar``, so
  concurrent pipeline functions on different threads each see their own);
* ``instances``: runs started with ``multi_instance_support="parallel"``, waited on by
  ``PipelineDecorator.wait_for_multi_pipelines()``.

The types are protocols, so this module imports none of the modules that use it.
"""

from __future__ import annotations

import contextvars
import inspect
import threading
from collections.abc import Callable
from typing import Any, Protocol

from taskmill.core.pipeline import StepSpec
from taskmill.engine.launchers import RunMode
from taskmill.engine.nodes import StepHooks


class ComponentTemplate(Protocol):
    """What a running pipeline needs of a decorated component to add it as a step."""

    function: Callable[..., Any]
    spec: StepSpec
    hooks: StepHooks
    signature: inspect.Signature


class ActiveRun(Protocol):
    """A pipeline function running in this context: components called from it become its steps."""

    @property
    def pipeline(self) -> object:
        """The ``PipelineDecorator`` of the run."""
        ...

    def call_component(
        self, component: ComponentTemplate, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        """Add a step calling ``component`` with these arguments; returns its lazy value(s)."""
        ...


class PendingResult(Protocol):
    """A pipeline call running in a process of its own."""

    def result(self) -> Any:
        """The call's return value (blocking); raises when the call failed."""
        ...


class DecoratorContext:
    """The decorator's process state (see the module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.mode: RunMode | None = None  #: run_locally() / debug_pipeline(); None: not chosen
        self.default_queue: str | None = None  #: set_default_execution_queue()
        self.launcher: str | None = None  #: run_locally(launcher=): the steps' launcher spec
        self.current: contextvars.ContextVar[ActiveRun | None] = contextvars.ContextVar(
            "taskmill_current_pipeline", default=None
        )
        self._instances: list[PendingResult] = []

    def add_instance(self, instance: PendingResult) -> None:
        """Remember a parallel pipeline call (thread-safe)."""
        with self._lock:
            self._instances.append(instance)

    def take_instances(self) -> list[PendingResult]:
        """The parallel calls started so far, in call order, forgetting them (thread-safe)."""
        with self._lock:
            taken, self._instances = self._instances, []
        return taken

    def reset(self) -> None:
        """Back to the start: no switches set, no parallel calls remembered."""
        with self._lock:
            self.mode = None
            self.default_queue = None
            self.launcher = None
            self._instances = []


#: The decorator's process state (one per process, like ClearML's class-level switches).
DECORATOR = DecoratorContext()
