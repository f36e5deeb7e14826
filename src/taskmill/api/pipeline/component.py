"""``Component``: a function decorated with ``@PipelineDecorator.component``, and what a call does.

Where the call happens decides what it does:

* inside a running pipeline function: the call becomes a step of that run and returns lazy
  values at once (see :mod:`taskmill.api.pipeline.function_run`);
* inside a running component (a pipeline step): the component runs now, in the calling step's
  process, as a tracked step of its own (:func:`call_nested`; blocking, as in ClearML);
* anywhere else: a plain call of the function (ClearML).
"""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Callable
from typing import Any

from taskmill.api.pipeline import functions as fx
from taskmill.api.pipeline.context import DECORATOR
from taskmill.api.pipeline.step_main import backend_for, execute_in_process
from taskmill.api.session import PROCESS
from taskmill.api.task import Task
from taskmill.core.pipeline import NodeStatus, StepSpec
from taskmill.core.states import TaskStatus
from taskmill.engine.function_io import load_input
from taskmill.engine.inputs import ArtifactInput
from taskmill.engine.nodes import Node, StepHooks
from taskmill.engine.steps import RunContext, StepBuilder
from taskmill.errors import StepFailedError


class Component:
    """A function decorated with ``@PipelineDecorator.component`` (call it inside a pipeline)."""

    def __init__(self, function: Callable[..., Any], spec: StepSpec, hooks: StepHooks) -> None:
        functools.update_wrapper(self, function)
        self.function = function
        self.spec = spec
        self.hooks = hooks
        self.signature = inspect.signature(fx.innermost(function))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        run = DECORATOR.current.get()
        if run is not None:
            return run.call_component(self, args, kwargs)
        step = Task.current_task()
        if step is not None and step.parent and PROCESS.step_task.get() is not None:
            return call_nested(self, step, args, kwargs)
        return self.function(*args, **kwargs)  # outside any pipeline: a plain call (ClearML)


def call_nested(component: Component, caller: Task, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """A component called inside a running component: its own tracked step, run now in the
    caller's process (in-process, a local sub-process or an agent's), shown in the run's DAG as
    a child of the calling step. Blocking: returns the component's value, as ClearML does."""
    session = PROCESS.session()
    store = session.store
    run_id = str(caller.parent)
    calling_step = str(caller.get_runtime_properties().get("pipeline_step") or caller.name)
    name = f"{calling_step}_{component.spec.name}"
    backend = backend_for(session)
    bound = component.signature.bind(*args, **kwargs)
    bound.apply_defaults()
    run = Task.get_task(task_id=run_id)
    objects = {}
    for arg, value in bound.arguments.items():
        artifact = f"result_{name}_{arg}"
        run.upload_artifact(artifact, value)
        objects[arg] = ArtifactInput(run_id, artifact).marker()
    spec = StepSpec(
        **{**component.spec.__dict__, "name": name, "parents": (calling_step,), "function_kwargs": objects}
    )
    node = Node(spec=spec, hooks=component.hooks)
    builder = StepBuilder(
        backend, RunContext(run_id=run_id, step_project=caller.project, params={}, with_payload=False)
    )
    resolved = builder.resolve(node, {calling_step: caller.id})
    task_id = builder.create(node, resolved)
    node.job_id = task_id
    node.attempts = [task_id]
    node.job_started = time.time()
    execute_in_process(
        backend, session, task_id, function=component.function, return_names=spec.function_return
    )
    node.job_ended = time.time()
    ok = store.get_task(task_id).status == TaskStatus.completed
    node.status = NodeStatus.completed if ok else NodeStatus.failed
    node.executed = task_id if ok else False
    store.put_nodes(run_id, [(name, node.to_dict())])
    if not ok:
        raise StepFailedError(
            f"nested component '{name}' (task {task_id}) failed; see `taskmill tasks logs {task_id}`"
        )
    outputs = [load_input(backend, ArtifactInput(task_id, r)) for r in spec.function_return]
    if not outputs:
        return None
    return outputs[0] if len(outputs) == 1 else tuple(outputs)
