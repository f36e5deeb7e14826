"""``PipelineDecorator``: pipelines and steps from plain functions, on the controller's engine.

``@PipelineDecorator.component`` turns a function into a step; ``@PipelineDecorator.pipeline``
turns a function into a pipeline whose body calls components. Calling a component returns lazy
values at once (:mod:`taskmill.api.pipeline.lazy`).

Differences from ClearML, on purpose (see the README):

* Passing a lazy value to another component does not block the pipeline function: the consumer
  starts the moment its producers complete, so ``for x in items: c(b(a(x)))`` runs every chain at
  once (ClearML runs them one after another).
* ``debug_pipeline()`` still records every step as a task (ClearML records none).
* A failed step raises where its value is used, or when the pipeline function returns.
"""

from __future__ import annotations

import functools
import inspect
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar, cast

from taskmill.api.params import cast_like, to_json_value
from taskmill.api.pipeline import functions as fx
from taskmill.api.pipeline.controller import PipelineController, _resume_requested
from taskmill.api.pipeline.definition import function_step
from taskmill.api.pipeline.lazy import LazyValue, find_lazy, raise_failed
from taskmill.api.pipeline.progress import ProgressView
from taskmill.api.pipeline.runs import interrupt_unfinished
from taskmill.api.pipeline.step_main import backend_for
from taskmill.api.session import PROCESS
from taskmill.api.task import Task
from taskmill.core.model import Param
from taskmill.core.pipeline import NodeStatus, StepSpec
from taskmill.core.states import TaskStatus, TaskTypes
from taskmill.engine.function_io import INPUT_MARKER, TUPLE_MARKER, load_input
from taskmill.engine.nodes import Job, Node, StepHooks
from taskmill.engine.resolve import ArtifactInput
from taskmill.engine.scheduler import PipelineRun, RunHooks, RunOptions
from taskmill.engine.steps import RunContext, StepBuilder
from taskmill.errors import ExecutionError, SpecError, StepFailedError

F = TypeVar("F", bound=Callable[..., Any])


class Component:
    """A function decorated with ``@PipelineDecorator.component`` (call it inside a pipeline)."""

    def __init__(self, function: Callable[..., Any], spec: StepSpec, hooks: StepHooks) -> None:
        functools.update_wrapper(self, function)
        self.function = function
        self.spec = spec
        self.hooks = hooks
        self.signature = inspect.signature(fx.unwrap(function))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        pipeline = PROCESS.current_pipeline.get()
        if pipeline is not None:
            return pipeline._call_component(self, args, kwargs)
        step = Task.current_task()
        if step is not None and step.parent and PROCESS.step_task.get() is not None:
            return _eager_nested(self, step, args, kwargs)
        return self.function(*args, **kwargs)  # outside any pipeline: a plain call (ClearML)


class PipelineDecorator(PipelineController):
    """A pipeline run driven by a decorated function (see the module docstring)."""

    def __init__(self, *args: Any, function: Callable[..., Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._function = function
        self._events: dict[str, threading.Event] = {}
        self._evaluated: list[str] = []
        self._counts: dict[str, int] = {}
        self._stored: dict[str, dict[str, Any]] = {}
        self._consumed: set[str] = set()
        self._lock = threading.Lock()

    # == class-level API (ClearML's) ===============================================================

    @staticmethod
    def component(  # ClearML's signature
        _func: Callable[..., Any] | None = None,
        *,
        return_values: str | Sequence[str] = ("return_object",),
        name: str | None = None,
        cache: bool = False,
        packages: str | Sequence[str] | None = None,
        parents: Sequence[str] | None = None,
        execution_queue: str | None = None,
        continue_on_fail: bool = False,
        docker: str | None = None,
        docker_args: str | None = None,
        docker_bash_setup_script: str | None = None,
        task_type: str | TaskTypes | None = None,
        auto_connect_frameworks: Any = None,
        auto_connect_arg_parser: Any = None,
        repo: str | None = None,
        repo_branch: str | None = None,
        repo_commit: str | None = None,
        helper_functions: Sequence[Callable[..., Any]] | None = None,
        monitor_metrics: Sequence[Any] | None = None,
        monitor_artifacts: Sequence[Any] | None = None,
        monitor_models: Sequence[Any] | None = None,
        retry_on_failure: int | Callable[..., bool] | None = None,
        pre_execute_callback: Callable[..., Any] | None = None,
        post_execute_callback: Callable[..., Any] | None = None,
        status_change_callback: Callable[..., Any] | None = None,
        tags: str | Sequence[str] | None = None,
        output_uri: str | bool | None = None,
        draft: bool = False,
        working_dir: str | None = None,
        continue_behaviour: Mapping[str, bool] | None = None,
        stage: str | None = None,
        time_limit: float | None = None,
    ) -> Any:
        """Make a function a pipeline step. Usable bare (``@component``) or with options."""

        def wrap(function: Callable[..., Any]) -> Component:
            returns = (return_values,) if isinstance(return_values, str) else tuple(return_values or ())
            spec, hooks = function_step(
                name=name or fx.unwrap(function).__name__,
                function=function,
                source=fx.function_source(function, helper_functions or ()),
                kwargs={},
                returns=returns,
                parents=tuple(parents or ()),
                output_uri=None if output_uri in (None, False, True) else str(output_uri),
                execution_queue=execution_queue,
                time_limit=time_limit,
                continue_on_fail=continue_on_fail,
                continue_behaviour=continue_behaviour,
                cache=cache,
                retry_on_failure=retry_on_failure,
                monitor_metrics=monitor_metrics,
                monitor_artifacts=monitor_artifacts,
                monitor_models=monitor_models,
                stage=stage,
                task_type=task_type,
                tags=tags,
                draft=draft,
                packages=packages,
                pre_execute_callback=pre_execute_callback,
                post_execute_callback=post_execute_callback,
                status_change_callback=status_change_callback,
            )
            return Component(function, spec, hooks)

        return wrap(_func) if _func is not None else wrap

    @staticmethod
    def pipeline(  # ClearML's signature
        _func: Callable[..., Any] | None = None,
        *,
        name: str,
        project: str,
        version: str | None = None,
        return_value: str | None = None,
        default_queue: str | None = None,
        pool_frequency: float = 0.2,
        add_pipeline_tags: bool = False,
        target_project: str | bool | None = None,
        abort_on_failure: bool = False,
        pipeline_execution_queue: str | None = "services",
        multi_instance_support: bool | str = False,
        add_run_number: bool = True,
        args_map: Mapping[str, Sequence[str]] | None = None,
        start_controller_locally: bool = False,
        retry_on_failure: int | Callable[..., bool] | None = None,
        docker: str | None = None,
        docker_args: str | None = None,
        docker_bash_setup_script: str | None = None,
        packages: bool | str | Sequence[str] | None = None,
        repo: str | None = None,
        repo_branch: str | None = None,
        repo_commit: str | None = None,
        artifact_serialization_function: Callable[[Any], bytes] | None = None,
        artifact_deserialization_function: Callable[[bytes], Any] | None = None,
        output_uri: str | bool | None = None,
        skip_global_imports: bool = False,
        working_dir: str | None = None,
        enable_local_imports: bool = True,
        max_parallel: int | None = None,
    ) -> Any:
        """Make a function a pipeline: its arguments are the pipeline's parameters."""

        def wrap(function: Callable[..., Any]) -> Callable[..., Any]:
            options = {
                "name": name,
                "project": project,
                "version": version,
                "add_pipeline_tags": add_pipeline_tags,
                "target_project": True if target_project is None else target_project,
                "abort_on_failure": abort_on_failure,
                "add_run_number": add_run_number,
                "retry_on_failure": retry_on_failure,
                "artifact_serialization_function": artifact_serialization_function,
                "artifact_deserialization_function": artifact_deserialization_function,
                "output_uri": output_uri,
                "enable_local_imports": enable_local_imports,
                "max_parallel": max_parallel,
            }
            run_options: dict[str, Any] = {
                "return_value": return_value,
                "default_queue": default_queue,
                "local": start_controller_locally or pipeline_execution_queue is None,
                "queue": pipeline_execution_queue,
                "args_map": dict(args_map or {}),
            }

            @functools.wraps(function)
            def run(*args: Any, **kwargs: Any) -> Any:
                if multi_instance_support:
                    from taskmill.api.pipeline.multi import run_instance

                    return run_instance(run, args, kwargs, parallel=multi_instance_support == "parallel")
                pipe = PipelineDecorator(function=function, **options)
                return pipe._run_pipeline(args, kwargs, **run_options)

            run.__taskmill_options__ = {"controller": options, "run": run_options}  # type: ignore[attr-defined]
            return run

        return wrap(_func) if _func is not None else wrap

    @classmethod
    def run_locally(cls) -> None:
        """Local mode: each step runs in its own process (warm worker); call before the pipeline."""
        PROCESS.decorator_mode = "process"

    @classmethod
    def debug_pipeline(cls) -> None:  # type: ignore[override]  # ClearML: a class-level switch
        """Debug mode: steps run as plain calls in this process, still tracked; breakpoints work."""
        PROCESS.decorator_mode = "debug"

    @classmethod
    def set_default_execution_queue(cls, default_execution_queue: str | None) -> None:
        """Default queue of components (call before the pipeline function)."""
        PROCESS.decorator_default_queue = default_execution_queue

    @classmethod
    def get_current_pipeline(cls) -> PipelineDecorator | None:
        """The pipeline whose function is running here (None outside one)."""
        return cast(PipelineDecorator | None, PROCESS.current_pipeline.get())

    @classmethod
    def wait_for_multi_pipelines(cls) -> list[Any]:
        """Results of ``multi_instance_support="parallel"`` runs, in call order (blocking)."""
        from taskmill.api.pipeline.multi import wait_all

        return wait_all()

    # == running the function ======================================================================

    def _run_pipeline(
        self,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        return_value: str | None,
        default_queue: str | None,
        local: bool,
        queue: str | None,
        args_map: dict[str, Sequence[str]],
    ) -> Any:
        assert self._function is not None
        settings = PROCESS.session().settings
        self._default_queue = default_queue or PROCESS.decorator_default_queue
        mode = settings.pipeline_mode or PROCESS.decorator_mode  # an agent's/CLI's choice wins
        if not mode and (settings.task_id or local):
            # run by an agent or a resume with no mode given, or start_controller_locally /
            # pipeline_execution_queue=None: the controller runs here, steps go to their queues
            mode = "queue"
        if not mode:
            return self._enqueue_pipeline(args, kwargs, queue)
        if mode not in ("process", "debug", "queue"):
            raise ExecutionError(f"unknown pipeline mode '{mode}'; use 'process', 'debug' or 'queue'")
        sig = inspect.signature(self._function)
        bound = sig.bind(*args, **kwargs)
        bound.apply_defaults()
        params = dict(bound.arguments)
        section_of = {arg: section for section, names in args_map.items() for arg in names}
        for key, value in params.items():
            ann = sig.parameters[key].annotation
            self.add_parameter(key, value, param_type=ann if isinstance(ann, type) else None)
        current = Task.current_task()
        nested = (
            PROCESS.current_pipeline.get() is not None
            or PROCESS.step_task.get() is not None
            or (current is not None and "pipeline_step" in current.get_runtime_properties())
        )
        resume = (
            settings.task_id
            if settings.resume or _resume_requested(PROCESS.session().store, settings.task_id)
            else None
        )
        task = self._controller_task(resume, nested=nested)
        attached = bool(resume or (settings.task_id and settings.task_id == task.id))
        if attached:
            params = self._stored_arguments(task, params, sig)
            self._adopt_stored_queue(task)
        self._params = params
        self._record_arguments(task, params, section_of)
        if resume:
            self._stored = {name: data for name, data in task._store().get_nodes(task.id)}
            keep: set[str | None] = {
                str(d.get("job_id"))
                for d in self._stored.values()
                if d.get("status") in ("completed", "cached")
            }
            interrupt_unfinished(task._store(), task.id, keep=keep)
        return self._execute_function(task, params, mode, return_value)

    def _enqueue_pipeline(self, args: tuple[Any, ...], kwargs: dict[str, Any], queue: str | None) -> Any:
        """Remote mode: record the run with its arguments, put it on ``queue`` and exit (ClearML)."""
        assert self._function is not None
        sig = inspect.signature(self._function)
        bound = sig.bind(*args, **kwargs)
        bound.apply_defaults()
        task = self._controller_task()
        self._record_arguments(task, dict(bound.arguments), {})
        self._hand_over(task, queue)
        return None

    def _stored_arguments(self, task: Task, params: dict[str, Any], sig: inspect.Signature) -> dict[str, Any]:
        stored = {
            p.name: p.value
            for p in task._store().get_params(task.id)
            if p.section not in ("properties", "pipeline")
        }
        out = dict(params)
        for key in params:
            if key in stored:
                ann = sig.parameters[key].annotation
                like = params[key] if params[key] is not None else (ann() if isinstance(ann, type) else None)
                out[key] = cast_like(stored[key], like)
        return out

    def _record_arguments(self, task: Task, params: Mapping[str, Any], section_of: Mapping[str, str]) -> None:
        store = task._store()
        version = self._version or "1.0.0"
        self._version = version
        store.set_params(
            task.id,
            [
                Param(section_of.get(k, "Args"), k, to_json_value(v), self._param_meta.get(k, ("", ""))[1])
                for k, v in params.items()
            ]
            + [
                Param("properties", "version", version),
                Param("pipeline", "default_queue", self._default_queue or ""),
            ],
        )
        store.update_task(
            task.id,
            runtime={
                "version": version,
                "controller_pid": __import__("os").getpid(),
                "controller_host": __import__("socket").gethostname(),
                "decorated_pipeline": True,
            },
        )

    def _execute_function(
        self, task: Task, params: dict[str, Any], mode: str, return_value: str | None
    ) -> Any:
        assert self._function is not None
        session = PROCESS.session()
        backend = backend_for(session)
        ctx = RunContext(
            run_id=task.id,
            step_project=self._step_project(),
            params=params,
            add_pipeline_tags=self._add_pipeline_tags,
            output_uri=self._uri(self._output_uri),
            default_queue=self._default_queue,
            with_payload=mode != "debug",
            serialize=self._serialize,
            deserialize=self._deserialize,
        )
        self._backend = backend
        view = ProgressView(self._name, task.id, enabled=None, log=lambda m: task._reporter().log(m))
        launcher = self._launcher(mode, backend, session, view.console)

        def on_change(node: Node) -> None:
            view.on_change(node)
            if node.status.is_final:
                self._event(node.name).set()

        run = PipelineRun(
            backend,
            StepBuilder(backend, ctx),
            launcher,
            [],
            run_id=task.id,
            options=RunOptions(
                abort_on_failure=self._abort_on_failure,
                max_parallel=self._max_parallel,
                retry_on_failure=self._retry,
                open_ended=True,
            ),
            hooks=RunHooks(pipeline=self, on_change=on_change, console=view.console),
        )
        self._run = run
        self._started_at = time.time()
        view.start({})
        self._thread = threading.Thread(target=self._loop, args=(run, task, view), name="taskmill-pipeline")
        self._thread.start()
        token = PROCESS.current_pipeline.set(self)
        error: BaseException | None = None
        result: Any = None
        try:
            result = self._function(**params)
            if isinstance(result, LazyValue):
                result = result._tm_resolve()
        except BaseException as exc:
            error = exc
            run.stop(mark_failed=True, reason=f"the pipeline function raised {type(exc).__name__}: {exc}")
        finally:
            PROCESS.current_pipeline.reset(token)
            run.seal()
            self._join_interruptibly()
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
            task.upload_artifact(return_value, result, serialization_function=self._serialize)
        if failed:
            first = failed[0]
            raise_failed(first.name, first.job_id, first.message)
        return result

    def _loop(self, run: PipelineRun, task: Task, view: ProgressView) -> None:
        super()._loop(run, task, view)
        for event in self._events.values():  # nobody waits forever on a step that never ran
            event.set()

    # == component calls ===========================================================================

    def _event(self, step: str) -> threading.Event:
        with self._lock:
            return self._events.setdefault(step, threading.Event())

    def _step_name(self, base: str) -> str:
        with self._lock:
            count = self._counts.get(base, 0)
            self._counts[base] = count + 1
        return base if count == 0 else f"{base}_{count}"

    def _call_component(self, component: Component, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        run = self._run
        assert run is not None
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
        parents: list[str] = list(component.spec.parents)
        encoded: dict[str, Any] = {}
        for arg, value in values.items():
            for lazy in find_lazy(value):
                if lazy.step_name not in parents:
                    parents.append(lazy.step_name)
            encoded[arg] = self._encode(value, name, arg)
        for step in self._evaluated:
            if step not in parents:
                parents.append(step)
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
        if fx.is_jsonable(value) and not _has_reserved_keys(value):
            return value
        return self._as_artifact(value, step, arg)

    def _as_artifact(self, value: Any, step: str, arg: str) -> Any:
        # Objects given to a component are stored once on the run (ClearML: result_<step>_<arg>).
        task = self.task
        artifact = f"result_{step}_{arg}"
        task.upload_artifact(artifact, value, serialization_function=self._serialize)
        return {INPUT_MARKER: ArtifactInput(task.id, artifact).encode()}

    def _restore(self, node: Node) -> None:
        data = self._stored.get(node.name)
        if not data or data.get("status") not in ("completed", "cached") or not data.get("job_id"):
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

    def _load_output(self, step: str, name: str) -> Any:
        run = self._run
        assert run is not None
        node = run.nodes.get(step)
        with self._lock:
            self._consumed.add(step)
            self._evaluated = [s for s in self._evaluated if s != step] + [step]
        if node is None or node.status == NodeStatus.skipped:
            return None
        if node.status in (NodeStatus.failed, NodeStatus.aborted):
            if node.continue_on_fail:
                return None
            raise_failed(step, node.job_id, node.message)
        if not name or not node.job_id:
            return None
        return load_input(self._backend, ArtifactInput(node.job_id, name), self._deserialize)

    # -- controller task for nested runs ---------------------------------------------------------

    def _controller_task(self, resume: str | None = None, nested: bool = False) -> Task:
        if nested and self._task is None and not resume:
            parent = Task.current_task()
            store = PROCESS.session().store
            store.ensure_project(self._hidden_project, system_tags=("pipeline", "hidden"))
            created = Task.create(
                project_name=self._hidden_project, task_name=self._name, task_type=TaskTypes.controller
            )
            created.set_system_tags(["pipeline"])
            if parent is not None:
                created.set_parent(parent.id)
            created.mark_started()
            from taskmill.api.pipeline.runs import next_run_number

            created.set_name(f"{self._name} #{next_run_number(store, self._hidden_project, self._name)}")
            self._task = created
            return created
        return super()._controller_task(resume)


def _has_reserved_keys(value: Any) -> bool:
    if isinstance(value, dict):
        return bool({INPUT_MARKER, TUPLE_MARKER} & set(value)) or any(
            _has_reserved_keys(v) for v in value.values()
        )
    if isinstance(value, list):
        return any(_has_reserved_keys(v) for v in value)
    return False


def _eager_nested(component: Component, caller: Task, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """A component called inside a running component: its own tracked step, run now in the
    caller's process (in-process, a local sub-process or an agent's), shown in the run's DAG as
    a child of the calling step. Blocking: returns the component's value, as ClearML does."""
    from taskmill.api.pipeline.step_main import execute_in_process

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
        objects[arg] = {INPUT_MARKER: ArtifactInput(run_id, artifact).encode()}
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
    execute_in_process(backend, session, task_id, component.function, spec.function_return)
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
