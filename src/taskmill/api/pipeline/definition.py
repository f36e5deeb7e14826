"""Checking a pipeline definition before anything runs, and fingerprinting it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from taskmill.api.pipeline import functions as fx
from taskmill.core.dag import DagBuilder
from taskmill.core.pipeline import (
    ContinueBehaviour,
    StepSpec,
    normalise_metric_pairs,
    normalise_monitor_pairs,
)
from taskmill.core.refs import RefContext, RefScope, check_refs, referenced_steps
from taskmill.core.states import TaskTypes
from taskmill.engine.nodes import Node, StepHooks
from taskmill.errors import SpecError, TaskmillError, TaskNotFoundError
from taskmill.store.base import TaskFilter, TaskStore


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
    out = list(explicit or ())
    for value in values:
        if value is None:
            continue
        items = value.values() if isinstance(value, Mapping) else [value]
        for item in items:
            for step in sorted(referenced_steps(item, recursive=recursive or isinstance(item, (list, dict)))):
                if step not in out:
                    out.append(step)
    return tuple(out)


def verify_pipeline(nodes: Mapping[str, Node], params: Mapping[str, Any], store: TaskStore) -> None:
    """Everything checkable before a step runs; raises one SpecError listing every problem."""
    problems: list[str] = []
    scope = RefScope(
        steps={
            n.name: (tuple(n.spec.function_return) if n.spec.kind == "function" else None)
            for n in nodes.values()
        },
        params=set(params),
    )
    if not nodes:
        problems.append("the pipeline has no steps; add some with add_step() or add_function_step()")
    for node in nodes.values():
        spec = node.spec
        checks: list[tuple[Any, str, RefContext, bool]] = [
            (spec.parameters, "parameter_override", RefContext.PARAMETERS, spec.recursively_parse_parameters),
            (spec.configurations, "configuration_overrides", RefContext.PARAMETERS, True),
            (spec.task_overrides, "task_overrides", RefContext.TASK_OVERRIDES, False),
            (spec.function_kwargs, "function_kwargs", RefContext.FUNCTION_KWARGS, True),
        ]
        if spec.queue is not None:
            checks.append((spec.queue, "execution_queue", RefContext.QUEUE, False))
        for value, field, context, recursive in checks:
            if not value:  # most steps leave most of these empty; nothing to check
                continue
            try:
                check_refs(value, scope, step=spec.name, field=field, context=context, recursive=recursive)
            except TaskmillError as exc:
                problems.append(str(exc))
        if spec.kind == "task" and node.hooks.base_task_factory is None:
            try:
                _find_base(node, store)
            except TaskmillError as exc:
                problems.append(str(exc))
    builder = DagBuilder()
    try:
        for node in nodes.values():
            builder.add(node.name, node.spec.parents)
        builder.build()
    except TaskmillError as exc:
        problems.append(str(exc))
    if problems:
        detail = "\n  - ".join(problems)
        raise SpecError(f"the pipeline cannot start ({len(problems)} problem(s)):\n  - {detail}")


def _find_base(node: Node, store: TaskStore) -> None:
    spec = node.spec
    if spec.base_task_id:
        try:
            store.get_task(spec.base_task_id)
        except TaskNotFoundError:
            raise SpecError(
                f"step '{spec.name}': base task '{spec.base_task_id}' does not exist; check the id with "
                "`taskmill tasks list`"
            ) from None
        return
    found = store.find_tasks(TaskFilter(project=spec.base_task_project, name=spec.base_task_name, limit=1))
    if not found:
        raise SpecError(
            f"step '{spec.name}': no base task named '{spec.base_task_name}' "
            f"in project '{spec.base_task_project}'; "
            "create it first (run its script once, or Task.create)"
        )
    node.spec = replace(spec, base_task_id=found[0].id)


def definition_hash(nodes: Mapping[str, Node], params: Mapping[str, Any]) -> str:
    """A fingerprint of the pipeline's definition (steps, code, parameter names)."""
    data = {
        "steps": {n.name: n.spec.to_dict() for n in nodes.values()},
        "params": sorted(params),
    }
    text = json.dumps(data, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def resolve_retry(
    step_callable: Callable[..., bool] | int | None,
    step_int: int | None,
    default: int | Callable[..., bool] | None,
) -> int | Callable[..., bool] | None:
    """The retry policy of a step: its own, else the pipeline's."""
    if step_callable is not None:
        return step_callable
    if step_int is not None:
        return step_int
    return default


def function_step(
    *,
    name: str,
    function: Callable[..., Any],
    source: str,
    kwargs: Mapping[str, Any],
    returns: tuple[str, ...],
    parents: tuple[str, ...],
    output_uri: str | None,
    execution_queue: str | None,
    time_limit: float | None,
    continue_on_fail: bool,
    continue_behaviour: Mapping[str, bool] | None,
    cache: bool,
    retry_on_failure: int | Callable[..., bool] | None,
    monitor_metrics: Sequence[Any] | None,
    monitor_artifacts: Sequence[Any] | None,
    monitor_models: Sequence[Any] | None,
    stage: str | None,
    task_type: str | TaskTypes | None,
    tags: str | Sequence[str] | None,
    draft: bool,
    packages: str | Sequence[str] | None,
    pre_execute_callback: Callable[..., Any] | None,
    post_execute_callback: Callable[..., Any] | None,
    status_change_callback: Callable[..., Any] | None,
    object_kwargs: Mapping[str, Any] | None = None,
    project_name: str | None = None,
    task_name: str | None = None,
) -> tuple[StepSpec, StepHooks]:
    """The spec and hooks of a function step: one builder for ``add_function_step`` and
    ``@PipelineDecorator.component`` (arguments as in ClearML; ``parents`` and ``output_uri``
    already resolved by the caller)."""
    inner = fx.unwrap(function)
    spec = StepSpec(
        name=name,
        kind="function",
        parents=parents,
        queue=execution_queue,
        time_limit=time_limit,
        behaviour=ContinueBehaviour.resolve(continue_on_fail, continue_behaviour),
        cache=cache,
        retries=retry_on_failure if isinstance(retry_on_failure, int) else None,
        monitor_metrics=normalise_metric_pairs(monitor_metrics),
        monitor_artifacts=normalise_monitor_pairs(monitor_artifacts),
        monitor_models=normalise_monitor_pairs(monitor_models),
        stage=stage,
        task_type=str(TaskTypes(task_type or TaskTypes.data_processing)),
        tags=(tags,) if isinstance(tags, str) else tuple(tags or ()),
        output_uri=output_uri,
        draft=draft,
        function_name=getattr(inner, "__name__", name),
        function_module=getattr(inner, "__module__", ""),
        function_source=source,
        function_kwargs=dict(kwargs),
        function_return=returns,
        packages=(packages,) if isinstance(packages, str) else tuple(packages or ()),
        project_name=project_name,
        task_name=task_name,
    )
    hooks = StepHooks(
        function=function,
        pre_execute_callback=pre_execute_callback,
        post_execute_callback=post_execute_callback,
        status_change_callback=status_change_callback,
        retry_on_failure=retry_on_failure if callable(retry_on_failure) else None,
        object_kwargs=dict(object_kwargs or {}),
    )
    return spec, hooks
