"""A pipeline's definition: its settings, parameters and steps, before anything is stored.

:class:`PipelineDefinition` is the first part of ``PipelineController`` (the parts stack up as
described in :mod:`taskmill.api.pipeline.controller`): ClearML's constructor and the methods that
add to a definition. Adding never touches the store; problems that need the store (a base task
that does not exist, a reference to an unknown step) are found by
:func:`taskmill.api.pipeline.verify.verify_pipeline` when the run starts.

:func:`function_step` builds the spec and hooks of a function step from its
:class:`~taskmill.api.pipeline.step_options.StepOptions`, for ``add_function_step`` and
``@PipelineDecorator.component`` alike.
"""

from __future__ import annotations

import inspect
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from taskmill.api.params import type_name
from taskmill.api.pipeline import functions as fx
from taskmill.api.pipeline.step_options import SpecFields, StepOptions
from taskmill.api.session import PROCESS
from taskmill.api.task import Task
from taskmill.core.dag import check_step_name
from taskmill.core.model import pipelines_project
from taskmill.core.pipeline import StepSpec
from taskmill.core.refs import referenced_steps
from taskmill.core.resources import ResourceError
from taskmill.core.states import TaskTypes
from taskmill.core.versions import check_version
from taskmill.engine.nodes import Node as EngineNode
from taskmill.engine.nodes import StepHooks
from taskmill.errors import SpecError


def check_parameter_keys(step: str, params: Mapping[str, Any]) -> None:
    """``parameter_override`` keys must be ``Section/key`` (ClearML raises too)."""
    bad = [k for k in params if "/" not in k or k.startswith("/") or k.endswith("/")]
    if bad:
        fixes = ", ".join(f"'General/{k.strip('/')}'" for k in bad)
        raise SpecError(f"step '{step}': parameter_override keys {bad} need a section; write them as {fixes}")


def merge_parents(
    explicit: Sequence[str] | None,
    *values: Any,
    recursive: bool,
) -> tuple[str, ...]:
    """Explicit parents plus every step referenced in ``values`` (order kept, no duplicates)."""
    out = dict.fromkeys(explicit or ())  # an ordered set: membership in O(1), not O(parents)
    for value in values:
        if value is None:
            continue
        items = value.values() if isinstance(value, Mapping) else [value]
        for item in items:
            for step in sorted(referenced_steps(item, recursive=recursive or isinstance(item, (list, dict)))):
                out.setdefault(step, None)
    return tuple(out)


def step_fields(name: str, options: StepOptions) -> SpecFields:
    """``options.spec_fields()``, with the step's name in a ResourceError's message."""
    try:
        return options.spec_fields()
    except ResourceError as exc:
        raise ResourceError(f"step '{name}': {exc}") from None


def function_step(
    name: str,
    function: Callable[..., Any],
    options: StepOptions,
    *,
    source: str,
    kwargs: Mapping[str, Any],
    returns: tuple[str, ...],
    object_kwargs: Mapping[str, Any] | None = None,
) -> tuple[StepSpec, StepHooks]:
    """The spec and hooks of a function step. ``kwargs`` are its JSON-able arguments (literals
    and ``${...}`` references; every referenced step becomes a parent, as does one named in the
    queue), ``object_kwargs`` the others (stored as artifacts of the run when it starts)."""
    inner = fx.unwrap(function)
    fields = step_fields(name, options)
    try:
        only_functions = options.function_fields()
    except ResourceError as exc:
        raise ResourceError(f"step '{name}': {exc}") from None
    spec = StepSpec(
        name=name,
        kind="function",
        parents=merge_parents(options.parents, kwargs, options.execution_queue, recursive=False),
        function_name=getattr(inner, "__name__", name),
        function_module=getattr(inner, "__module__", ""),
        function_source=source,
        function_kwargs=dict(kwargs),
        function_return=returns,
        **fields,
        **only_functions,
    )
    return spec, options.hooks(function=function, object_kwargs=object_kwargs)


class PipelineDefinition:
    """The definition part of ``PipelineController`` (see the module docstring)."""

    Node = EngineNode

    def __init__(
        self,
        name: str,
        project: str,
        version: str | None = None,
        pool_frequency: float = 0.2,
        add_pipeline_tags: bool = False,
        target_project: str | bool | None = True,
        auto_version_bump: bool | None = None,
        abort_on_failure: bool = False,
        add_run_number: bool = True,
        retry_on_failure: int | Callable[..., bool] | None = None,
        docker: str | None = None,
        docker_args: str | None = None,
        docker_bash_setup_script: str | None = None,
        packages: bool | str | Sequence[str] | None = None,
        repo: str | None = None,
        repo_branch: str | None = None,
        repo_commit: str | None = None,
        always_create_from_code: bool = True,
        artifact_serialization_function: Callable[[Any], bytes] | None = None,
        artifact_deserialization_function: Callable[[bytes], Any] | None = None,
        output_uri: str | bool | None = None,
        skip_global_imports: bool = False,
        working_dir: str | None = None,
        enable_local_imports: bool = True,
        max_parallel: int | None = None,
    ) -> None:
        """Define a pipeline. Nothing is stored until it starts.

        ``pool_frequency`` is accepted for compatibility and unused: taskmill launches steps on
        events, within milliseconds. ``max_parallel`` caps how many steps run at once (default:
        32, or four per CPU when larger; ClearML has no cap).
        """
        if not name or not project:
            raise ValueError(
                "PipelineController needs a name and a project, e.g. name='train', project='vision'"
            )
        if version is not None:
            check_version(version)
        self._name = name
        self._project = project
        self._version = version
        self._hidden_project = pipelines_project(project, name)
        self._add_pipeline_tags = add_pipeline_tags
        self._target_project = target_project
        self._abort_on_failure = abort_on_failure
        self._add_run_number = add_run_number
        self._retry = retry_on_failure
        self._serialize = artifact_serialization_function
        self._deserialize = artifact_deserialization_function
        self._output_uri = output_uri
        self._enable_local_imports = enable_local_imports
        self._max_parallel = max_parallel or max(32, 4 * (os.cpu_count() or 1))
        self._packages = packages
        self._params: dict[str, Any] = {}
        self._param_meta: dict[str, tuple[str, str]] = {}
        self._configs: list[tuple[Any, str | None, str | None]] = []
        self._nodes: dict[str, EngineNode] = {}
        self._default_queue: str | None = None
        self._time_limit_min: float | None = None
        self._tags: list[str] = []
        self._task: Task | None = None
        self._main_script = _main_script()
        self._sources: dict[tuple[int, tuple[int, ...]], str] = {}  # function source, per function
        self._signatures: dict[int, inspect.Signature] = {}

    def add_parameter(
        self, name: str, default: Any = None, description: str | None = None, param_type: Any = None
    ) -> None:
        """A pipeline parameter (``Args/<name>`` on the run), referenced as ``${pipeline.<name>}``."""
        if not name or "/" in name:
            raise ValueError(f"pipeline parameter name '{name}' must be non-empty and contain no '/'")
        self._params[name] = default
        ptype = param_type.__name__ if isinstance(param_type, type) else (param_type or type_name(default))
        self._param_meta[name] = (description or "", str(ptype))

    def get_parameters(self) -> dict[str, Any]:
        """Pipeline parameters ``name -> value`` (after overrides, once the run started)."""
        return dict(self._params)

    def set_default_execution_queue(self, default_execution_queue: str | None) -> None:
        """Queue for steps that do not name one."""
        self._default_queue = default_execution_queue

    def set_pipeline_execution_time_limit(self, max_execution_minutes: float | None) -> None:
        """Wall-clock limit for the whole run, in minutes (None or 0: no limit)."""
        self._time_limit_min = max_execution_minutes or None

    def connect_configuration(
        self, configuration: Any, name: str | None = None, description: str | None = None
    ) -> Any:
        """A configuration object on the controller task (recorded when the run starts)."""
        self._configs.append((configuration, name, description))
        return configuration

    def add_tags(self, tags: str | Sequence[str]) -> None:
        """Tags on the controller task."""
        new = [tags] if isinstance(tags, str) else list(tags)
        self._tags += [t for t in new if t not in self._tags]
        if self._task is not None:
            self._task.add_tags(new)

    def _add_node(self, spec: StepSpec, hooks: StepHooks) -> bool:
        check_step_name(spec.name)
        if spec.name in self._nodes:
            raise SpecError(f"step '{spec.name}' is added twice; step names must be unique in a pipeline")
        self._nodes[spec.name] = EngineNode(spec=spec, hooks=hooks)
        return True

    def add_step(
        self,
        name: str,
        base_task_id: str | None = None,
        parents: Sequence[str] | None = None,
        parameter_override: Mapping[str, Any] | None = None,
        configuration_overrides: Mapping[str, Any] | None = None,
        task_overrides: Mapping[str, Any] | None = None,
        execution_queue: str | None = None,
        monitor_metrics: Sequence[Any] | None = None,
        monitor_artifacts: Sequence[Any] | None = None,
        monitor_models: Sequence[Any] | None = None,
        time_limit: float | None = None,
        base_task_project: str | None = None,
        base_task_name: str | None = None,
        clone_base_task: bool = True,
        continue_on_fail: bool = False,
        pre_execute_callback: Callable[..., Any] | None = None,
        post_execute_callback: Callable[..., Any] | None = None,
        cache_executed_step: bool = False,
        base_task_factory: Callable[[EngineNode], Any] | None = None,
        retry_on_failure: int | Callable[..., bool] | None = None,
        status_change_callback: Callable[..., Any] | None = None,
        recursively_parse_parameters: bool = False,
        output_uri: str | bool | None = None,
        continue_behaviour: Mapping[str, bool] | None = None,
        stage: str | None = None,
        launcher: str | None = None,
        resources: Mapping[str, object] | None = None,
    ) -> bool:
        """Add a step that runs a clone of an existing task (by id, by project + name, or made
        by ``base_task_factory``). ``parameter_override`` keys are ``Section/key``; values may hold
        ``${...}`` references, and every referenced step becomes a parent. ``resources``
        (``{"cpu": 4, "memory": "16Gi", "gpu": 1}``) is what the step asks of the machine it runs
        on (see :mod:`taskmill.core.resources`); a bad value raises ResourceError here."""
        if not (base_task_id or base_task_factory or (base_task_project and base_task_name)):
            raise SpecError(
                f"step '{name}': give base_task_id, or base_task_project and base_task_name, "
                "or base_task_factory"
            )
        options = StepOptions(
            parents=tuple(parents or ()),
            execution_queue=execution_queue,
            time_limit=time_limit,
            continue_on_fail=continue_on_fail,
            continue_behaviour=continue_behaviour,
            cache=cache_executed_step,
            retry_on_failure=retry_on_failure,
            monitor_metrics=monitor_metrics,
            monitor_artifacts=monitor_artifacts,
            monitor_models=monitor_models,
            stage=stage,
            launcher=launcher,
            resources=resources,
            output_uri=self._uri(output_uri),
            pre_execute_callback=pre_execute_callback,
            post_execute_callback=post_execute_callback,
            status_change_callback=status_change_callback,
        )
        params = dict(parameter_override or {})
        check_parameter_keys(name, params)
        fields = step_fields(name, options)
        spec = StepSpec(
            name=name,
            kind="task",
            parents=merge_parents(
                options.parents,
                params,
                configuration_overrides,
                task_overrides,
                execution_queue,
                recursive=recursively_parse_parameters,
            ),
            parameters=params,
            configurations=dict(configuration_overrides or {}),
            task_overrides=dict(task_overrides or {}),
            recursively_parse_parameters=recursively_parse_parameters,
            base_task_id=base_task_id,
            base_task_project=base_task_project,
            base_task_name=base_task_name,
            clone_base_task=clone_base_task,
            **fields,
        )
        return self._add_node(spec, options.hooks(base_task_factory=base_task_factory))

    def add_function_step(
        self,
        name: str,
        function: Callable[..., Any],
        function_kwargs: Mapping[str, Any] | None = None,
        function_return: str | Sequence[str] | None = None,
        project_name: str | None = None,
        task_name: str | None = None,
        task_type: str | TaskTypes | None = None,
        auto_connect_frameworks: Any = None,
        auto_connect_arg_parser: Any = None,
        packages: str | Sequence[str] | None = None,
        repo: str | None = None,
        repo_branch: str | None = None,
        repo_commit: str | None = None,
        helper_functions: Sequence[Callable[..., Any]] | None = None,
        docker: str | None = None,
        docker_args: str | None = None,
        docker_bash_setup_script: str | None = None,
        parents: Sequence[str] | None = None,
        execution_queue: str | None = None,
        monitor_metrics: Sequence[Any] | None = None,
        monitor_artifacts: Sequence[Any] | None = None,
        monitor_models: Sequence[Any] | None = None,
        time_limit: float | None = None,
        continue_on_fail: bool = False,
        pre_execute_callback: Callable[..., Any] | None = None,
        post_execute_callback: Callable[..., Any] | None = None,
        cache_executed_step: bool = False,
        retry_on_failure: int | Callable[..., bool] | None = None,
        status_change_callback: Callable[..., Any] | None = None,
        tags: str | Sequence[str] | None = None,
        output_uri: str | bool | None = None,
        draft: bool = False,
        working_dir: str | None = None,
        continue_behaviour: Mapping[str, bool] | None = None,
        stage: str | None = None,
        launcher: str | None = None,
        resources: Mapping[str, object] | None = None,
    ) -> bool:
        """Add a step that calls ``function``. ``function_kwargs`` values are literals,
        ``${...}`` references (``${step.return_name}`` hands over the Python object), or any
        object (stored as an artifact of the run). ``function_return`` names the return values.
        ``launcher``: where this step runs (a launcher spec, ``NAME[@ADDRESS]``; see
        :mod:`taskmill.engine.launcher_plugins`), whatever the run's launcher. ``resources``
        (``{"cpu": 4, "memory": "16Gi", "gpu": 1}``): what the step asks of the machine it runs on
        (a bad value raises ResourceError here); ``docker``, ``docker_args`` and
        ``docker_bash_setup_script`` are recorded as its task's ``runtime["docker"]``."""
        if not callable(function):
            raise SpecError(f"step '{name}': function must be callable, got {type(function).__name__}")
        returns = (function_return,) if isinstance(function_return, str) else tuple(function_return or ())
        kwargs = fx.bind_arguments(name, function, dict(function_kwargs or {}), self._signature_of(function))
        literal = {k: v for k, v in kwargs.items() if isinstance(v, str) or fx.is_jsonable(v)}
        objects = {k: v for k, v in kwargs.items() if k not in literal}
        options = StepOptions(
            parents=tuple(parents or ()),
            execution_queue=execution_queue,
            time_limit=time_limit,
            continue_on_fail=continue_on_fail,
            continue_behaviour=continue_behaviour,
            cache=cache_executed_step,
            retry_on_failure=retry_on_failure,
            monitor_metrics=monitor_metrics,
            monitor_artifacts=monitor_artifacts,
            monitor_models=monitor_models,
            stage=stage,
            launcher=launcher,
            resources=resources,
            output_uri=self._uri(output_uri),
            pre_execute_callback=pre_execute_callback,
            post_execute_callback=post_execute_callback,
            status_change_callback=status_change_callback,
            task_type=task_type,
            tags=tags,
            draft=draft,
            packages=packages,
            project_name=project_name,
            task_name=task_name,
            docker=docker,
            docker_args=docker_args,
            docker_bash_setup_script=docker_bash_setup_script,
        )
        spec, hooks = function_step(
            name,
            function,
            options,
            source=self._source_of(function, helper_functions or ()),
            kwargs=literal,
            returns=returns,
            object_kwargs=objects,
        )
        return self._add_node(spec, hooks)

    def _signature_of(self, function: Callable[..., Any]) -> inspect.Signature:
        if id(function) not in self._signatures:
            self._signatures[id(function)] = inspect.signature(fx.unwrap(function))
        return self._signatures[id(function)]

    def _source_of(self, function: Callable[..., Any], helpers: Sequence[Callable[..., Any]]) -> str:
        # The same function is often used by many steps: read its source once per pipeline.
        key = (id(function), tuple(id(h) for h in helpers))
        if key not in self._sources:
            self._sources[key] = fx.function_source(function, helpers)
        return self._sources[key]

    def _uri(self, value: str | bool | None) -> str | None:
        if value is True:
            return PROCESS.session().settings.artifacts_uri
        return value or None

    def _step_project(self) -> str:
        """Project of the step tasks: the run's hidden project, the ``target_project``, or ""
        (each step task stays in its base task's project)."""
        if self._target_project is True:
            return self._hidden_project
        if isinstance(self._target_project, str) and self._target_project:
            return self._target_project
        return ""

    def _dag_nodes(self) -> Mapping[str, EngineNode]:
        """The nodes the run's DAG shows: the defined ones until a run holds live ones."""
        return self._nodes


def _main_script() -> Path | None:
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    return Path(path).resolve() if path else None
