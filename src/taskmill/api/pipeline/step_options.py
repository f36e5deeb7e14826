"""``StepOptions``: the options a step is added with, as one frozen value.

The three ways to add a step (``PipelineController.add_step``, ``add_function_step`` and
``@PipelineDecorator.component``) take ClearML's keyword arguments; each builds one
``StepOptions`` from them, once, and hands it down. Everything after that reads the options from
this value, so an option is spelled, defaulted and normalised in one place.

Values are kept as the user gave them (ClearML's types), except ``output_uri``, which the facade
resolves first (``True`` means the session's artifact URI for the controller, and nothing for a
component, which has no session when it is decorated). :meth:`StepOptions.spec_fields` and
:meth:`StepOptions.hooks` turn them into what the engine stores and calls.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

from taskmill.core.pipeline import ContinueBehaviour, normalise_metric_pairs, normalise_monitor_pairs
from taskmill.core.resources import container_record, parse_resources
from taskmill.core.states import TaskTypes
from taskmill.engine.launcher_plugins import with_launcher
from taskmill.engine.nodes import Node, StepHooks

Callback = Callable[..., Any]


class SpecFields(TypedDict):
    """The :class:`~taskmill.core.pipeline.StepSpec` fields every kind of step takes from its options."""

    queue: str | None
    time_limit: float | None
    behaviour: ContinueBehaviour
    cache: bool
    retries: int | None
    monitor_metrics: tuple[tuple[tuple[str, str], tuple[str, str]], ...]
    monitor_artifacts: tuple[tuple[str, str], ...]
    monitor_models: tuple[tuple[str, str], ...]
    stage: str | None
    output_uri: str | None
    resources: dict[str, float | int]


class FunctionFields(TypedDict):
    """The spec fields only a function step takes from its options."""

    task_type: str
    tags: tuple[str, ...]
    draft: bool
    packages: tuple[str, ...]
    project_name: str | None
    task_name: str | None
    docker: dict[str, Any] | None


@dataclass(frozen=True)
class StepOptions:
    """How one step runs, fails, retries, reports and is cached (ClearML's option names)."""

    parents: Sequence[str] = ()  #: explicit parents (referenced steps are added to them)
    execution_queue: str | None = None
    time_limit: float | None = None  #: seconds
    continue_on_fail: bool = False
    continue_behaviour: Mapping[str, bool] | None = None
    cache: bool = False
    retry_on_failure: int | Callable[..., bool] | None = None
    monitor_metrics: Sequence[Any] | None = None
    monitor_artifacts: Sequence[Any] | None = None
    monitor_models: Sequence[Any] | None = None
    stage: str | None = None
    output_uri: str | None = None  #: already resolved by the facade
    pre_execute_callback: Callback | None = None
    post_execute_callback: Callback | None = None
    status_change_callback: Callback | None = None
    #: the step's own launcher spec (``NAME[@ADDRESS]``, see
    #: :mod:`taskmill.engine.launcher_plugins`); None: the run's launcher
    launcher: str | None = None
    #: what the step asks of the machine (``{"cpu": 4, "memory": "16Gi", "gpu": 1}``), as given
    resources: Mapping[str, object] | None = None
    # function steps only
    task_type: str | TaskTypes | None = None
    tags: str | Sequence[str] | None = None
    draft: bool = False
    packages: str | Sequence[str] | None = None
    project_name: str | None = None
    task_name: str | None = None
    docker: str | None = None  #: the step's container image (ClearML's ``docker=``)
    docker_args: str | Sequence[str] | None = None
    docker_bash_setup_script: str | Sequence[str] | None = None

    def spec_fields(self) -> SpecFields:
        """The spec fields of any step. Raises ValueError for unknown ``continue_behaviour`` keys,
        :class:`~taskmill.core.resources.ResourceError` for a bad ``resources`` value."""
        retry = self.retry_on_failure
        return SpecFields(
            queue=self.execution_queue,
            time_limit=self.time_limit,
            behaviour=ContinueBehaviour.resolve(self.continue_on_fail, self.continue_behaviour),
            cache=self.cache,
            retries=retry if isinstance(retry, int) else None,
            monitor_metrics=normalise_metric_pairs(self.monitor_metrics),
            monitor_artifacts=normalise_monitor_pairs(self.monitor_artifacts),
            monitor_models=normalise_monitor_pairs(self.monitor_models),
            stage=self.stage,
            output_uri=self.output_uri,
            resources=parse_resources(self.resources).to_record(),
        )

    def function_fields(self) -> FunctionFields:
        """The spec fields only function steps have (a task step keeps its base task's)."""
        return FunctionFields(
            task_type=str(TaskTypes(self.task_type or TaskTypes.data_processing)),
            tags=_strings(self.tags),
            draft=self.draft,
            packages=_strings(self.packages),
            project_name=self.project_name,
            task_name=self.task_name,
            docker=container_record(self.docker, self.docker_args, self.docker_bash_setup_script),
        )

    def hooks(
        self,
        *,
        function: Callable[..., Any] | None = None,
        base_task_factory: Callable[[Node], Any] | None = None,
        object_kwargs: Mapping[str, Any] | None = None,
    ) -> StepHooks:
        """The step's callables (a callable retry policy included) and its own launcher."""
        retry = self.retry_on_failure
        hooks = StepHooks(
            function=function,
            base_task_factory=base_task_factory,
            pre_execute_callback=self.pre_execute_callback,
            post_execute_callback=self.post_execute_callback,
            status_change_callback=self.status_change_callback,
            retry_on_failure=retry if callable(retry) else None,
            object_kwargs=dict(object_kwargs or {}),
        )
        return with_launcher(hooks, self.launcher)


def _strings(value: str | Sequence[str] | None) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value or ())
