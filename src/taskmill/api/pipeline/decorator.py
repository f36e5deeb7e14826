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

The decorator is split by concern: this module is the API (ClearML's class-level methods);
:mod:`~taskmill.api.pipeline.component` is a decorated component and what calling it does;
:mod:`~taskmill.api.pipeline.function_run` drives one call of a pipeline function;
:mod:`~taskmill.api.pipeline.context` holds the decorator's process state.
"""

from __future__ import annotations

import functools
import inspect
import os
import socket
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from taskmill.api.params import cast_like, to_json_value
from taskmill.api.pipeline import functions as fx
from taskmill.api.pipeline.component import Component
from taskmill.api.pipeline.context import DECORATOR
from taskmill.api.pipeline.controller import PipelineController
from taskmill.api.pipeline.definition import function_step
from taskmill.api.pipeline.function_run import FunctionRun
from taskmill.api.pipeline.launch import RunPlan, check_run_queue, chosen_mode, hand_over
from taskmill.api.pipeline.multi import run_instance, wait_all
from taskmill.api.pipeline.records import resume_requested
from taskmill.api.pipeline.step_options import StepOptions
from taskmill.api.session import PROCESS
from taskmill.api.task import Task
from taskmill.core.model import Param
from taskmill.core.states import TaskTypes
from taskmill.core.stored import SERVICES_QUEUE
from taskmill.engine.launchers import RunMode
from taskmill.runs.records import interrupt_unfinished, next_run_number
from taskmill.runs.restore import stored_steps

__all__ = ["Component", "PipelineDecorator"]


class PipelineDecorator(PipelineController):
    """A pipeline run driven by a decorated function (see the module docstring)."""

    def __init__(self, *args: Any, function: Callable[..., Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._function = function

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
        launcher: str | None = None,
        resources: Mapping[str, object] | None = None,
    ) -> Any:
        """Make a function a pipeline step. Usable bare (``@component``) or with options.
        ``launcher``: where this step runs (a launcher spec, ``NAME[@ADDRESS]``; see
        :mod:`taskmill.engine.launcher_plugins`), whatever the run's launcher. ``resources``
        (``{"cpu": 4, "memory": "16Gi", "gpu": 1}``): what the step asks of the machine it runs
        on (a bad value raises ResourceError when decorating); ``docker``, ``docker_args`` and
        ``docker_bash_setup_script`` are recorded as its task's ``runtime["docker"]``."""

        def wrap(function: Callable[..., Any]) -> Component:
            options = StepOptions(
                parents=tuple(parents or ()),
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
                launcher=launcher,
                resources=resources,
                # True (the session's URI) is decided when the run starts; a component has no session yet
                output_uri=None if output_uri in (None, False, True) else str(output_uri),
                pre_execute_callback=pre_execute_callback,
                post_execute_callback=post_execute_callback,
                status_change_callback=status_change_callback,
                task_type=task_type,
                tags=tags,
                draft=draft,
                packages=packages,
                docker=docker,
                docker_args=docker_args,
                docker_bash_setup_script=docker_bash_setup_script,
            )
            returns = (return_values,) if isinstance(return_values, str) else tuple(return_values or ())
            spec, hooks = function_step(
                name or fx.innermost(function).__name__,
                function,
                options,
                source=fx.function_source(function, helper_functions or ()),
                kwargs={},
                returns=returns,
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
        pipeline_execution_queue: str | None = SERVICES_QUEUE,
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
                    return run_instance(run, args, kwargs, parallel=multi_instance_support == "parallel")
                pipe = PipelineDecorator(function=function, **options)
                return pipe._run_pipeline(args, kwargs, **run_options)

            run.__taskmill_options__ = {"controller": options, "run": run_options}  # type: ignore[attr-defined]
            return run

        return wrap(_func) if _func is not None else wrap

    @classmethod
    def run_locally(cls, launcher: str | None = None) -> None:
        """Local mode: each step runs in its own process (warm worker); call before the pipeline.
        ``launcher``: run the steps with that launcher instead (a spec, ``NAME[@ADDRESS]``, e.g.
        ``"dask"``; see :mod:`taskmill.engine.launcher_plugins`)."""
        DECORATOR.mode = RunMode.process
        DECORATOR.launcher = launcher

    @classmethod
    def debug_pipeline(cls) -> None:  # type: ignore[override]  # ClearML: a class-level switch
        """Debug mode: steps run as plain calls in this process, still tracked; breakpoints work."""
        DECORATOR.mode = RunMode.debug

    @classmethod
    def set_default_execution_queue(cls, default_execution_queue: str | None) -> None:
        """Default queue of components (call before the pipeline function)."""
        DECORATOR.default_queue = default_execution_queue

    @classmethod
    def get_current_pipeline(cls) -> PipelineDecorator | None:
        """The pipeline whose function is running here (None outside one)."""
        run = DECORATOR.current.get()
        pipeline = run.pipeline if run is not None else None
        return pipeline if isinstance(pipeline, PipelineDecorator) else None

    @classmethod
    def wait_for_multi_pipelines(cls) -> list[Any]:
        """Results of ``multi_instance_support="parallel"`` runs, in call order (blocking)."""
        return wait_all()

    # == driving a call of the function ==============================================================

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
        """One call of the pipeline function: queued for an agent (remote mode), or run here as
        a run of its own (nested under the caller's run when called from one). Blocking."""
        assert self._function is not None
        settings = PROCESS.session().settings
        self._default_queue = default_queue or DECORATOR.default_queue
        # Without run_locally()/debug_pipeline(): run by an agent or a resume, or with
        # start_controller_locally / pipeline_execution_queue=None, the controller runs here and
        # steps go to their queues; otherwise the run itself goes to a queue.
        here = bool(settings.task_id or local)
        mode = chosen_mode(DECORATOR.mode or (RunMode.queue if here else RunMode.remote), settings)
        if mode is RunMode.remote:
            return self._enqueue_pipeline(args, kwargs, queue=queue)
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
            DECORATOR.current.get() is not None
            or PROCESS.step_task.get() is not None
            or (current is not None and "pipeline_step" in current.get_runtime_properties())
        )
        resume = (
            settings.task_id
            if settings.resume or resume_requested(PROCESS.session().store, settings.task_id)
            else None
        )
        task = self._controller_task(resume, nested=nested)
        attached = bool(resume or (settings.task_id and settings.task_id == task.id))
        if attached:
            params = self._stored_arguments(task, params=params, signature=sig)
            self._adopt_stored_queue(task)
        self._params = params
        self._record_arguments(task, params=params, section_of=section_of)
        stored: dict[str, Any] = {}
        if resume:
            stored = stored_steps(task._store(), task.id)  # step tasks' records over batched states
            keep: set[str | None] = {
                str(d.get("job_id")) for d in stored.values() if d.get("status") in ("completed", "cached")
            }
            interrupt_unfinished(task._store(), task.id, keep=keep)
        driver = FunctionRun(
            self, task, stored=stored, serialize=self._serialize, deserialize=self._deserialize
        )
        plan = RunPlan(
            mode=mode,
            params=params,
            open_ended=True,
            on_change=driver.on_change,
            on_end=driver.release,
            launcher=DECORATOR.launcher,
        )
        return driver.drive(self._start_run(task, plan), self._function, params, return_value=return_value)

    def _enqueue_pipeline(self, args: tuple[Any, ...], kwargs: dict[str, Any], *, queue: str | None) -> Any:
        """Remote mode: record the run with its arguments, put it on ``queue`` and exit (ClearML)."""
        assert self._function is not None
        sig = inspect.signature(self._function)
        bound = sig.bind(*args, **kwargs)
        bound.apply_defaults()
        check_run_queue(PROCESS.session().store, queue, pipeline=self._name)  # before any record
        task = self._controller_task()
        self._record_arguments(task, params=dict(bound.arguments), section_of={})
        hand_over(task, queue=queue)
        return None

    def _stored_arguments(
        self, task: Task, *, params: dict[str, Any], signature: inspect.Signature
    ) -> dict[str, Any]:
        """``params`` overridden by the arguments stored on an attached run (cast like the
        defaults, or like the annotated type when the default is None)."""
        sig = signature
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

    def _record_arguments(
        self, task: Task, *, params: Mapping[str, Any], section_of: Mapping[str, str]
    ) -> None:
        """Record the call's arguments (in their ``args_map`` sections), version and controller."""
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
                "controller_pid": os.getpid(),
                "controller_host": socket.gethostname(),
                "decorated_pipeline": True,
            },
        )

    def _controller_task(self, resume: str | None = None, *, nested: bool = False) -> Task:
        """A pipeline called from a running pipeline or step gets a controller task of its own,
        a child of the caller's task (a nested run); otherwise as ``PipelineController``."""
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
            created.set_name(f"{self._name} #{next_run_number(store, self._hidden_project, self._name)}")
            self._task = created
            return created
        return super()._controller_task(resume)
