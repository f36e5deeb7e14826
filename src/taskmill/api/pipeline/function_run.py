"""``FunctionRun``: driving one call of a decorated pipeline function to the end.

The pipeline function runs on the calling thread while the run loop goes on its own. Each
component call becomes a step (:meth:`FunctionRun.call_component`): its parents are the steps
whose lazy values it was given (plus, in call order, steps whose values the function already
used), and it returns lazy values at once. Using a lazy value waits for its step
(:meth:`FunctionRun.load_output`). When the function returns, the run is sealed and joined; a
failed step nobody looked at fails the call.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable, Mapping
from typing import Any

from taskmill.api.pipeline import functions as fx
from taskmill.api.pipeline.context import DECORATOR, ComponentTemplate
from taskmill.api.pipeline.control import RunHandle
from taskmill.api.pipeline.lazy import LazyValue, find_lazy, raise_failed
from taskmill.api.session import PROCESS
from taskmill.api.task import Task
from taskmill.core.pipeline import NodeStatus, StepSpec
from taskmill.engine.function_io import load_input
from taskmill.engine.inputs import TUPLE_MARKER, ArtifactInput, has_reserved_keys
from taskmill.engine.nodes import Job, Node
from taskmill.errors import SpecError

NodeData = Mapping[str, Any]
_KEPT = (NodeStatus.completed.value, NodeStatus.cached.value)


class FunctionRun:
    """One call of a pipeline function on controller ``task`` (see the module docstring).

    ``stored``: the nodes of the run's earlier attempt (resume), kept when their task still
    succeeded. Thread-safe: components may be called from any thread of the pipeline function.
    """

    def __init__(
        self,
        pipeline: object,
        task: Task,
        *,
        stored: Mapping[str, NodeData],
        serialize: Callable[[Any], bytes] | None,
        deserialize: Callable[[bytes], Any] | None,
    ) -> None:
        self._pipeline = pipeline
        self._task = task
        self._stored = stored
        self._serialize = serialize
        self._deserialize = deserialize
        self._handle: RunHandle | None = None
        self._events: dict[str, threading.Event] = {}
        # insertion-ordered set: the most recently evaluated step last
        self._evaluated: dict[str, None] = {}
        self._counts: dict[str, int] = {}
        self._consumed: set[str] = set()
        self._lock = threading.Lock()

    @property
    def pipeline(self) -> object:
        """The ``PipelineDecorator`` whose function this is."""
        return self._pipeline

    # -- the run loop's side (its thread) -------------------------------------------------------

    def on_change(self, node: Node) -> None:
        """A node changed: wake whoever waits on a step that finished."""
        if node.status.is_final:
            self._event(node.name).set()

    def release(self) -> None:
        """The run ended: nobody waits forever on a step that never ran."""
        with self._lock:
            events = list(self._events.values())
        for event in events:
            event.set()

    # -- the pipeline function's side -----------------------------------------------------------

    def drive(
        self,
        handle: RunHandle,
        function: Callable[..., Any],
        params: Mapping[str, Any],
        *,
        return_value: str | None,
    ) -> Any:
        """Call ``function`` with ``params`` as this run, wait for every step, and return its
        result (stored as artifact ``return_value`` when named). Blocking. Raises what the
        function raised, else the failure of the first failed step whose value nobody used."""
        self._handle = handle
        run = handle.run
        token = DECORATOR.current.set(self)
        error: BaseException | None = None
        result: Any = None
        try:
            result = function(**params)
            if isinstance(result, LazyValue):
                result = result._tm_resolve()
        except BaseException as exc:
            error = exc
            run.stop(mark_failed=True, reason=f"the pipeline function raised {type(exc).__name__}: {exc}")
        finally:
            DECORATOR.current.reset(token)
            run.seal()
            handle.join_interruptibly()
        if error is not None:
            raise error
        failed = [
            n
            for n in run.nodes.values()
            if n.status in (NodeStatus.failed, NodeStatus.aborted)
            and not n.continue_on_fail
            and n.name not in self._consumed
        ]
        if return_value and result is not None:
            self._task.upload_artifact(return_value, result, serialization_function=self._serialize)
        if failed:
            first = failed[0]
            raise_failed(first.name, first.job_id, first.message)
        return result

    def call_component(
        self, component: ComponentTemplate, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        """Add a step calling ``component``; returns its lazy value(s) at once (non-blocking)."""
        run = self._running().run
        name = self._step_name(component.spec.name)
        try:
            bound = component.signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise SpecError(f"component '{name}': {exc}; signature {component.signature}") from None
        bound.apply_defaults()
        values: dict[str, Any] = {}
        for arg, value in bound.arguments.items():
            kind = component.signature.parameters[arg].kind
            if kind is inspect.Parameter.VAR_POSITIONAL:
                values.update({str(i): v for i, v in enumerate(value)})
            elif kind is inspect.Parameter.VAR_KEYWORD:
                values.update(value)
            else:
                values[arg] = value
        # a dict as an ordered set: a step with 10,000 parents must not cost 10,000² comparisons
        parents: dict[str, None] = dict.fromkeys(component.spec.parents)
        encoded: dict[str, Any] = {}
        for arg, value in values.items():
            for lazy in find_lazy(value):
                parents.setdefault(lazy.step_name, None)
            encoded[arg] = self._encode(value, name, arg)
        with self._lock:
            parents.update(self._evaluated)
        spec = StepSpec(
            **{**component.spec.__dict__, "name": name, "parents": tuple(parents), "function_kwargs": encoded}
        )
        node = Node(spec=spec, hooks=component.hooks)
        self._restore(node)
        event = self._event(name)
        run.add(node)
        outputs = [LazyValue(self, name, r, event) for r in spec.function_return]
        if not outputs:
            return LazyValue(self, name, "", event)
        return outputs[0] if len(outputs) == 1 else tuple(outputs)

    def load_output(self, step: str, name: str) -> Any:
        """Output ``name`` of ``step``, once it finished (None for a failed step that may fail,
        or one skipped by a callback); raises StepFailedError for a failed step, and for a step
        skipped because a step it needs failed (naming that root failure). Blocking on the store."""
        handle = self._running()
        node = handle.nodes.get(step)
        with self._lock:
            self._consumed.add(step)
            self._evaluated.pop(step, None)
            self._evaluated[step] = None
        if node is not None and node.status == NodeStatus.skipped:
            root = self._root_failure(handle, step)
            if root is not None:
                raise_failed(
                    root.name,
                    root.job_id,
                    root.message,
                    prefix=f"pipeline step '{step}' was skipped because ",
                )
        if node is None or node.status == NodeStatus.skipped:
            return None
        if node.status in (NodeStatus.failed, NodeStatus.aborted):
            if node.continue_on_fail:
                return None
            raise_failed(step, node.job_id, node.message)
        if not name or not node.job_id:
            return None
        return load_input(handle.backend, ArtifactInput(node.job_id, name), self._deserialize)

    # -- helpers ----------------------------------------------------------------------------------

    @staticmethod
    def _root_failure(handle: RunHandle, step: str) -> Node | None:
        """The first failed (or aborted) ancestor of ``step`` that may not fail, else None."""
        seen: set[str] = set()
        todo = [step]
        while todo:
            current = handle.nodes.get(todo.pop(0))
            if current is None or current.name in seen:
                continue
            seen.add(current.name)
            if current.status in (NodeStatus.failed, NodeStatus.aborted) and not current.continue_on_fail:
                return current
            todo += list(current.spec.parents)
        return None

    def _running(self) -> RunHandle:
        if self._handle is None:
            raise RuntimeError("the pipeline function is not running")
        return self._handle

    def _event(self, step: str) -> threading.Event:
        with self._lock:
            return self._events.setdefault(step, threading.Event())

    def _step_name(self, base: str) -> str:
        with self._lock:
            count = self._counts.get(base, 0)
            self._counts[base] = count + 1
        return base if count == 0 else f"{base}_{count}"

    def _encode(self, value: Any, step: str, arg: str) -> Any:
        if isinstance(value, LazyValue):
            return f"${{{value.step_name}.{value.return_name}}}"
        if isinstance(value, (str, int, float, bool)) or value is None:
            if isinstance(value, str) and "${" in value:
                return self._as_artifact(value, step, arg)  # a literal, not a reference
            return value
        if find_lazy(value):
            if isinstance(value, dict):
                return {str(k): self._encode(v, step, f"{arg}.{k}") for k, v in value.items()}
            if isinstance(value, tuple):
                return {TUPLE_MARKER: [self._encode(v, step, f"{arg}.{i}") for i, v in enumerate(value)]}
            return [self._encode(v, step, f"{arg}.{i}") for i, v in enumerate(value)]
        if fx.is_jsonable(value) and not has_reserved_keys(value):
            return value
        return self._as_artifact(value, step, arg)

    def _as_artifact(self, value: Any, step: str, arg: str) -> Any:
        # Objects given to a component are stored once on the run (ClearML: result_<step>_<arg>).
        artifact = f"result_{step}_{arg}"
        self._task.upload_artifact(artifact, value, serialization_function=self._serialize)
        return ArtifactInput(self._task.id, artifact).marker()

    def _restore(self, node: Node) -> None:
        data = self._stored.get(node.name)
        if not data or data.get("status") not in _KEPT or not data.get("job_id"):
            return
        job_id = str(data["job_id"])
        store = PROCESS.session().store
        rec = store.get_task(job_id)
        if not rec.status.succeeded:
            return
        node.status = NodeStatus(str(data["status"]))
        node.job_id = job_id
        node.executed = job_id
        node.job = Job(job_id, store, lambda tid: Task.get_task(task_id=tid))
        node.attempts = [job_id]
        node.message = "kept from the previous attempt of this run (resume)"
