"""Checking a pipeline definition before anything runs, and fingerprinting it.

:func:`verify_pipeline` reads the store (base tasks of task steps) and changes nothing except
filling in the id of a base task found by project and name; :func:`definition_hash` is pure.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from taskmill.core.dag import DagBuilder
from taskmill.core.refs import RefContext, RefScope, check_refs
from taskmill.engine.nodes import Node
from taskmill.errors import SpecError, TaskmillError, TaskNotFoundError
from taskmill.store.base import TaskFilter, TaskStore


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
