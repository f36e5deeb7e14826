"""``PipelineController``: ClearML's pipeline API on taskmill's engine.

Units, as in ClearML: ``pool_frequency``, ``wait(timeout)``, ``stop(timeout)``,
``set_pipeline_execution_time_limit`` and ``elapsed()`` are in **minutes**; a step's
``time_limit`` is in **seconds**.

Differences from ClearML, on purpose (see the README):

* The controller task is created when the run starts (or when ``pipe.id``/``pipe.task`` is first
  read), not in the constructor, so building a pipeline object has no side effects.
* Runs are named ``<name> #N`` from the first run on; without ``version=`` the version is bumped
  only when the pipeline's definition changed (ClearML bumps on every run).
* ``is_successful()`` counts cached steps as successes (ClearML issue #1501).
* ``stop()`` may be called from inside a callback (ClearML issue #1162).
* A step ``time_limit`` counts from launch, so a step stuck in a queue is stopped too (#1640).
* Retries run a new task per attempt; ``node.attempts`` lists them all.
"""

from __future__ import annotations

import inspect
import json
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from taskmill.api.params import cast_like, to_json_value, type_name
from taskmill.api.pipeline import functions as fx
from taskmill.api.pipeline.definition import (
    check_parameter_keys,
    definition_hash,
    function_step,
    merge_parents,
    resolve_retry,
    verify_pipeline,
)
from taskmill.api.pipeline.progress import ProgressView
from taskmill.api.pipeline.runs import (
    PIPELINE_CONFIG,
    find_run,
    interrupt_unfinished,
    next_run_number,
    next_version,
    resumable_nodes,
)
from taskmill.api.pipeline.step_main import PROCESS_TARGETS, STEP_PRELOAD, backend_for, execute_in_process
from taskmill.api.session import PROCESS, Session
from taskmill.api.task import Task
from taskmill.core.model import ConfigObject, Param, pipelines_project
from taskmill.core.pipeline import (
    ContinueBehaviour,
    NodeStatus,
    StepSpec,
    normalise_metric_pairs,
    normalise_monitor_pairs,
)
from taskmill.core.states import TaskStatus, TaskTypes
from taskmill.core.versions import check_version
from taskmill.engine.drafts import DraftGate
from taskmill.engine.launchers import InlineLauncher, Launcher, ProcessLauncher, QueueLauncher
from taskmill.engine.nodes import Node as EngineNode
from taskmill.engine.nodes import StepHooks
from taskmill.engine.scheduler import PipelineRun, RunHooks, RunOptions, RunResult
from taskmill.engine.steps import RunContext, StepBuilder
from taskmill.errors import ExecutionError, SpecError


class PipelineController:
    """A pipeline of steps (cloned tasks or functions) run by one controller task."""

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
        self._run: PipelineRun | None = None
        self._thread: threading.Thread | None = None
        self._result: RunResult | None = None
        self._started_at: float | None = None
        self._launch_callbacks: tuple[Callable[..., Any] | None, Callable[..., Any] | None] = (None, None)
        self._main_script = _main_script()
        self._sources: dict[tuple[int, tuple[int, ...]], str] = {}  # function source, per function
        self._signatures: dict[int, inspect.Signature] = {}

    # == definition =============================================================================

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
        from taskmill.core.dag import check_step_name

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
    ) -> bool:
        """Add a step that runs a clone of an existing task (by id, by project + name, or made
        by ``base_task_factory``). ``parameter_override`` keys are ``Section/key``; values may hold
        ``${...}`` references, and every referenced step becomes a parent."""
        if not (base_task_id or base_task_factory or (base_task_project and base_task_name)):
            raise SpecError(
                f"step '{name}': give base_task_id, or base_task_project and base_task_name, "
                "or base_task_factory"
            )
        params = dict(parameter_override or {})
        check_parameter_keys(name, params)
        spec = StepSpec(
            name=name,
            kind="task",
            parents=merge_parents(
                parents,
                params,
                configuration_overrides,
                task_overrides,
                execution_queue,
                recursive=recursively_parse_parameters,
            ),
            queue=execution_queue,
            time_limit=time_limit,
            behaviour=ContinueBehaviour.resolve(continue_on_fail, continue_behaviour),
            cache=cache_executed_step,
            retries=retry_on_failure if isinstance(retry_on_failure, int) else None,
            parameters=params,
            configurations=dict(configuration_overrides or {}),
            task_overrides=dict(task_overrides or {}),
            monitor_metrics=normalise_metric_pairs(monitor_metrics),
            monitor_artifacts=normalise_monitor_pairs(monitor_artifacts),
            monitor_models=normalise_monitor_pairs(monitor_models),
            recursively_parse_parameters=recursively_parse_parameters,
            stage=stage,
            output_uri=self._uri(output_uri),
            base_task_id=base_task_id,
            base_task_project=base_task_project,
            base_task_name=base_task_name,
            clone_base_task=clone_base_task,
        )
        hooks = StepHooks(
            base_task_factory=base_task_factory,
            pre_execute_callback=pre_execute_callback,
            post_execute_callback=post_execute_callback,
            status_change_callback=status_change_callback,
            retry_on_failure=retry_on_failure if callable(retry_on_failure) else None,
        )
        return self._add_node(spec, hooks)

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
    ) -> bool:
        """Add a step that calls ``function``. ``function_kwargs`` values are literals,
        ``${...}`` references (``${step.return_name}`` hands over the Python object), or any
        object (stored as an artifact of the run). ``function_return`` names the return values."""
        if not callable(function):
            raise SpecError(f"step '{name}': function must be callable, got {type(function).__name__}")
        returns = (function_return,) if isinstance(function_return, str) else tuple(function_return or ())
        kwargs = fx.bind_arguments(name, function, dict(function_kwargs or {}), self._signature_of(function))
        literal = {k: v for k, v in kwargs.items() if isinstance(v, str) or fx.is_jsonable(v)}
        objects = {k: v for k, v in kwargs.items() if k not in literal}
        spec, hooks = function_step(
            name=name,
            function=function,
            source=self._source_of(function, helper_functions or ()),
            kwargs=literal,
            returns=returns,
            parents=merge_parents(parents, literal, None, None, execution_queue, recursive=False),
            output_uri=self._uri(output_uri),
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
            task_type=task_type,
            tags=tags,
            draft=draft,
            packages=packages,
            pre_execute_callback=pre_execute_callback,
            post_execute_callback=post_execute_callback,
            status_change_callback=status_change_callback,
            object_kwargs=objects,
            project_name=project_name,
            task_name=task_name,
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

    # == running ================================================================================

    def start(
        self,
        queue: str | None = "services",
        step_task_created_callback: Callable[..., Any] | None = None,
        step_task_completed_callback: Callable[..., Any] | None = None,
        wait: bool = True,
    ) -> bool:
        """Remote mode: verify the pipeline, store it as a run, put the run on ``queue`` for an
        agent (``taskmill agent --queue services --services-mode``) and **exit this process**
        (ClearML's semantics); steps then go to their queues. ``queue=None`` leaves a draft run.
        Under an agent (or ``taskmill pipelines resume``) it runs the pipeline here instead."""
        self._launch_callbacks = (step_task_created_callback, step_task_completed_callback)
        settings = PROCESS.session().settings
        if settings.task_id:
            self._execute(settings.pipeline_mode or "queue", wait=wait)
            return True
        self._enqueue_run(queue)
        return True

    def _enqueue_run(self, queue: str | None) -> None:
        session = PROCESS.session()
        store = session.store
        verify_pipeline(self._nodes, self._params, store)
        self._check_step_queues(store)
        task = self._controller_task()
        self._record_definition(task, self._params)
        self._hand_over(task, queue)

    @staticmethod
    def _hand_over(task: Task, queue: str | None) -> None:
        """Put the recorded run on ``queue`` for an agent, say so (and whether an agent serves it),
        and exit this process (ClearML's ``execute_remotely``). ``None`` leaves a draft run."""
        store = task._store()
        if queue is not None:
            if queue == "services":
                store.create_queue(queue)  # the controllers' queue exists out of the box (ClearML's too)
            say(
                f"Pipeline run {task.id} ({task.name}) goes to queue '{queue}'; "
                f"follow it with `taskmill pipelines show {task.id}`"
            )
            if not any(queue in w.queues for w in store.list_workers()):
                say(
                    f"note: no agent serves queue '{queue}' yet; start one with "
                    f"`taskmill agent --queue {queue} --services-mode`",
                    error=True,
                )
        task.execute_remotely(queue_name=queue, exit_process=True)

    def _adopt_stored_queue(self, task: Task) -> None:
        """Under an agent: the default step queue recorded by the process that queued the run."""
        if self._default_queue is None:
            stored = task._store().get_param_dict(task.id).get("pipeline/default_queue")
            self._default_queue = str(stored) if stored else None

    def _check_step_queues(self, store: Any) -> None:
        known = {q.name for q in store.list_queues()}
        problems = []
        for node in self._nodes.values():
            queue = node.spec.queue if node.spec.queue is not None else self._default_queue
            if queue is None:
                problems.append(
                    f"step '{node.name}' has no execution queue; pass execution_queue= or call "
                    "set_default_execution_queue()"
                )
            elif "${" not in queue and queue not in known:
                if queue == "default":
                    store.create_queue(queue)
                    known.add(queue)
                else:
                    problems.append(
                        f"step '{node.name}' uses queue '{queue}', which does not exist; "
                        f"create it with `taskmill queues create {queue}`"
                    )
        if problems:
            raise SpecError("the pipeline cannot be queued:\n  - " + "\n  - ".join(problems))

    def start_locally(
        self,
        run_pipeline_steps_locally: bool = False,
        *,
        max_parallel: int | None = None,
        recompute: bool | Sequence[str] = False,
        resume: str | None = None,
        progress: bool | None = None,
    ) -> None:
        """Run the controller here and block until the run ends.

        ``run_pipeline_steps_locally=True``: each step runs in its own process, forked from a
        warm worker (taskmill and your modules already imported). ``False``: steps go to their
        queues, where agents (``taskmill agent --queue Q``) run them. ``recompute``: True, or
        step names, to ignore the cache.
        ``resume``: the id of a failed, aborted or interrupted run to continue (completed steps
        are kept). ``progress``: live progress display (default: when the output is a terminal).
        """
        mode = PROCESS.session().settings.pipeline_mode or (
            "process" if run_pipeline_steps_locally else "queue"
        )
        self._execute(mode, max_parallel=max_parallel, recompute=recompute, resume=resume, progress=progress)

    def debug_pipeline(
        self,
        *,
        max_parallel: int | None = None,
        recompute: bool | Sequence[str] = False,
        resume: str | None = None,
        progress: bool | None = None,
    ) -> None:
        """Debug mode: run here, function steps as plain calls in this process (on worker threads,
        so independent steps still overlap), every step still a tracked task. Breakpoints work.
        Outputs are handed to the next step in memory. Blocks until the run ends."""
        mode = PROCESS.session().settings.pipeline_mode or "debug"
        self._execute(mode, max_parallel=max_parallel, recompute=recompute, resume=resume, progress=progress)

    def create_draft(self) -> None:
        """Verify and store the pipeline as a draft run (to start later)."""
        verify_pipeline(self._nodes, self._params, PROCESS.session().store)
        task = self._controller_task()
        self._record_definition(task, self._params)
        task.close()
        task.reset(force=True)

    def _execute(
        self,
        mode: str,
        *,
        wait: bool = True,
        max_parallel: int | None = None,
        recompute: bool | Sequence[str] = False,
        resume: str | None = None,
        progress: bool | None = None,
    ) -> None:
        if self._thread is not None:
            raise ExecutionError(
                f"pipeline '{self._name}' was already started; build a new PipelineController"
            )
        session = PROCESS.session()
        settings = session.settings
        store = session.store
        verify_pipeline(self._nodes, self._params, store)
        if mode == "queue":
            self._check_step_queues(store)
        resume = resume or (
            settings.task_id if settings.resume or _resume_requested(store, settings.task_id) else None
        )
        task = self._controller_task(resume)
        params = self._final_parameters(task, attached=bool(resume or settings.task_id))
        self._params = params
        nodes = [self._fresh_node(n) for n in self._nodes.values()]
        if settings.recompute:
            recompute = (
                True if settings.recompute == "all" else [s.strip() for s in settings.recompute.split(",")]
            )
        done: list[str] = []
        if resume:
            done = resumable_nodes(store, task.id, nodes, recompute=recompute)
            interrupt_unfinished(store, task.id, keep={n.job_id for n in nodes if n.name in done})
        self._upload_object_kwargs(task)
        self._record_definition(task, params)
        backend = backend_for(session)
        ctx = RunContext(
            run_id=task.id,
            step_project=self._step_project(),
            params=params,
            add_pipeline_tags=self._add_pipeline_tags,
            output_uri=self._uri(self._output_uri),
            default_queue=self._default_queue,
            with_payload=mode != "debug",
            base_task_lookup=None,
            serialize=self._serialize,
            deserialize=self._deserialize,
        )
        view = ProgressView(self._name, task.id, enabled=progress, log=lambda m: task._reporter().log(m))
        launcher = self._launcher(mode, backend, session, view.console)
        created_cb, completed_cb = self._launch_callbacks
        run = PipelineRun(
            backend,
            StepBuilder(backend, ctx),
            launcher,
            nodes,
            run_id=task.id,
            done=done,
            options=RunOptions(
                abort_on_failure=self._abort_on_failure,
                max_parallel=max_parallel or self._max_parallel,
                time_limit=self._time_limit_min * 60 if self._time_limit_min else None,
                recompute=True if recompute is True else frozenset(recompute or ()),
                retry_on_failure=self._retry,
            ),
            hooks=RunHooks(
                pipeline=self,
                step_task_created_callback=created_cb,
                step_task_completed_callback=completed_cb,
                on_change=view.on_change,
                console=view.console,
            ),
        )
        self._run = run
        self._started_at = time.time()
        view.start(run.nodes)
        self._thread = threading.Thread(target=self._loop, args=(run, task, view), name="taskmill-pipeline")
        self._thread.start()
        if wait:
            self._join_interruptibly()

    def _launcher(
        self, mode: str, backend: Any, session: Session, console: Callable[[str], None]
    ) -> Launcher:
        if mode == "queue":
            return QueueLauncher(backend.store, warn=console)
        local = self._local_launcher(mode, backend, session)
        return DraftGate(
            local, backend.store, warn=console, worker=f"pipeline controller on {socket.gethostname()}"
        )

    def _local_launcher(self, mode: str, backend: Any, session: Session) -> Launcher:
        if mode == "debug":

            def execute(task_id: str, node: EngineNode) -> None:
                assert node.hooks.function is not None
                execute_in_process(
                    backend,
                    session,
                    task_id,
                    node.hooks.function,
                    node.spec.function_return,
                    serialize=self._serialize,
                    deserialize=self._deserialize,
                    output_uri=node.spec.output_uri or self._uri(self._output_uri),
                )

            return InlineLauncher(execute, backend.store, max_workers=self._max_parallel)
        if mode != "process":
            raise ExecutionError(f"unknown pipeline mode '{mode}'; use 'process', 'debug' or 'queue'")
        sys_path = [str(self._main_script.parent)] if self._enable_local_imports and self._main_script else []
        sys_path.append(os.getcwd())
        # What every step imports anyway is imported once, in the warm worker: a forked step then
        # starts with it in memory (each import saved is CPU saved per step).
        preload = list(STEP_PRELOAD) + [
            m for m in ("numpy", "pandas", "pyarrow", "sklearn") if m in sys.modules
        ]
        # function steps see the controller's argv, as they would in its process
        env = {**os.environ, **session.settings.to_env(), "TASKMILL_PARENT_ARGV": json.dumps(sys.argv)}
        env.pop("TASKMILL_TASK_ID", None)
        env.pop("TASKMILL_RESUME", None)
        return ProcessLauncher(backend.store, PROCESS_TARGETS, env=env, sys_path=sys_path, preload=preload)

    def _loop(self, run: PipelineRun, task: Task, view: ProgressView) -> None:
        try:
            result = run.run()
        except BaseException as exc:  # recorded on the controller task
            result = RunResult(TaskStatus.failed, f"controller error: {type(exc).__name__}: {exc}")
            view.console(result.message)
        self._result = result
        view.stop(result)
        self._write_dag(task)
        store = task._store()
        if result.status == TaskStatus.completed:
            task.close()
        else:
            task.flush()
            if not store.get_task(task.id).status.is_final:
                store.set_status(
                    task.id, result.status, message=result.message, reason=result.message, force=True
                )
            task.close()
        view.footer(task.id, result)

    def _join_interruptibly(self) -> None:
        thread = self._thread
        assert thread is not None
        previous = None
        if threading.current_thread() is threading.main_thread():
            previous = signal.signal(signal.SIGTERM, lambda *_: self.stop(mark_aborted=True))
        try:
            while thread.is_alive():
                thread.join(0.25)
        except KeyboardInterrupt:
            self.stop(mark_aborted=True)
            thread.join()
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)

    # -- run bookkeeping -------------------------------------------------------------------------

    def _controller_task(self, resume: str | None = None) -> Task:
        if self._task is not None:
            return self._task
        session = PROCESS.session()
        store = session.store
        store.ensure_project(self._hidden_project.rsplit("/", 1)[0], system_tags=("hidden",))
        store.ensure_project(self._hidden_project, system_tags=("pipeline", "hidden"))
        if resume:
            task = Task.get_task(task_id=resume)
            record = store.get_task(resume)
            if "pipeline" not in record.system_tags:
                raise ExecutionError(f"task {resume} is not a pipeline run (no 'pipeline' system tag)")
            if record.status == TaskStatus.completed:
                raise ExecutionError(f"run {resume} ({record.name}) completed; there is nothing to resume")
            if record.status != TaskStatus.in_progress:
                store.set_status(resume, TaskStatus.in_progress, message="resumed")
            task._attached = True
        elif (current := Task.current_task()) is not None:
            task = current  # ClearML: an existing task becomes the controller
        else:
            task = Task.init(
                project_name=self._hidden_project,
                task_name=self._name,
                task_type=TaskTypes.controller,
                auto_connect_arg_parser=False,
            )
        record = store.get_task(task.id)
        if "pipeline" not in record.system_tags:
            store.update_task(task.id, system_tags=[*record.system_tags, "pipeline"])
            if self._add_run_number:
                task.set_name(f"{self._name} #{next_run_number(store, self._hidden_project, self._name)}")
        if self._tags:
            task.add_tags(self._tags)
        self._task = task
        return task

    def _final_parameters(self, task: Task, attached: bool) -> dict[str, Any]:
        params = dict(self._params)
        if attached:
            self._adopt_stored_queue(task)
            stored = {p.name: p.value for p in task._store().get_params(task.id) if p.section == "Args"}
            for key, value in stored.items():
                params[key] = cast_like(value, self._params.get(key)) if key in self._params else value
        return params

    def _record_definition(self, task: Task, params: Mapping[str, Any]) -> None:
        store = task._store()
        dhash = definition_hash(self._nodes, params)
        version = self._version or next_version(store, self._hidden_project, task.id, dhash)
        self._version = version
        with store.batch():
            store.set_params(
                task.id,
                [
                    Param(
                        "Args",
                        k,
                        to_json_value(v),
                        self._param_meta.get(k, ("", type_name(v)))[1],
                        self._param_meta.get(k, ("", ""))[0],
                    )
                    for k, v in params.items()
                ]
                + [
                    Param("pipeline", "default_queue", self._default_queue or ""),
                    Param("pipeline", "add_pipeline_tags", self._add_pipeline_tags),
                    Param("pipeline", "target_project", to_json_value(self._target_project)),
                    Param("properties", "version", version),
                ],
            )
            store.update_task(
                task.id,
                runtime={
                    "version": version,
                    "_pipeline_hash": f"{dhash}:{version}",
                    "controller_pid": os.getpid(),
                    "controller_host": socket.gethostname(),
                },
            )
            for configuration, name, description in self._configs:
                task.connect_configuration(configuration, name=name, description=description)
        self._write_dag(task)

    def _write_dag(self, task: Task) -> None:
        nodes = self._run.nodes if self._run is not None else self._nodes
        dag = {name: node.to_dict() for name, node in nodes.items()}
        task._store().set_config(
            task.id,
            ConfigObject(PIPELINE_CONFIG, json.dumps(dag, default=str), "dictionary", "pipeline state"),
        )

    def _upload_object_kwargs(self, task: Task) -> None:
        for node in self._nodes.values():
            for arg, value in node.hooks.object_kwargs.items():
                task.upload_artifact(f"{node.name}.{arg}", value, serialization_function=self._serialize)

    def _fresh_node(self, node: EngineNode) -> EngineNode:
        retry = resolve_retry(node.hooks.retry_on_failure, node.spec.retries, self._retry)
        hooks = replace(node.hooks, retry_on_failure=retry)
        return EngineNode(spec=node.spec, hooks=hooks)

    def _step_project(self) -> str:
        if self._target_project is True:
            return self._hidden_project
        if isinstance(self._target_project, str) and self._target_project:
            return self._target_project
        return ""

    # == state and control ======================================================================

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the run ends (``timeout`` in minutes); True if it ended."""
        if self._thread is None:
            return True
        self._thread.join(None if timeout is None else timeout * 60)
        return not self._thread.is_alive()

    def stop(
        self, timeout: float | None = None, mark_failed: bool = False, mark_aborted: bool = False
    ) -> None:
        """Stop the run: running steps are aborted, pending ones skipped. Safe inside callbacks
        (it does not wait there); elsewhere it waits up to ``timeout`` minutes."""
        if self._run is None:
            return
        self._run.stop(mark_failed=mark_failed, mark_aborted=mark_aborted or not mark_failed)
        if self._thread is not None and threading.current_thread() is not self._thread:
            self.wait(timeout)

    def is_running(self) -> bool:
        """True while the run's loop is going."""
        return self._thread is not None and self._thread.is_alive()

    def is_successful(self, fail_on_step_fail: bool = True, fail_condition: str = "all") -> bool:
        """True when the run ended as ``fail_condition`` allows and, with ``fail_on_step_fail``,
        every step ended well. Cached steps count as successes."""
        if self._result is None or self.is_running():
            return False
        ok = {
            "all": {TaskStatus.completed},
            "failed": {TaskStatus.completed, TaskStatus.stopped},
            "aborted": {TaskStatus.completed, TaskStatus.failed},
        }.get(fail_condition)
        if ok is None:
            raise ValueError("fail_condition must be 'all', 'failed' or 'aborted'")
        if self._result.status not in ok:
            return False
        if not fail_on_step_fail:
            return True
        node_ok = {NodeStatus.completed, NodeStatus.cached, NodeStatus.skipped}
        if fail_condition == "failed":
            node_ok.add(NodeStatus.aborted)
        elif fail_condition == "aborted":
            node_ok.add(NodeStatus.failed)
        nodes = self._run.nodes.values() if self._run is not None else ()
        return all(n.status in node_ok for n in nodes if not n.skip_job or n.status != NodeStatus.skipped)

    def elapsed(self) -> float:
        """Minutes since the run started; -1.0 before."""
        return -1.0 if self._started_at is None else (time.time() - self._started_at) / 60.0

    def get_pipeline_dag(self) -> dict[str, EngineNode]:
        """``name -> EngineNode`` (live while running)."""
        return dict(self._run.nodes) if self._run is not None else dict(self._nodes)

    def get_processed_nodes(self) -> dict[str, EngineNode]:
        """Nodes that finished (completed, cached, failed or aborted)."""
        return {k: n for k, n in self.get_pipeline_dag().items() if n.executed is not None}

    def get_running_nodes(self) -> dict[str, EngineNode]:
        """Nodes running now."""
        return {k: n for k, n in self.get_pipeline_dag().items() if n.status == NodeStatus.running}

    def update_execution_plot(self) -> None:
        """Write the live DAG to the controller task now."""
        if self._task is not None:
            self._write_dag(self._task)

    @property
    def id(self) -> str:
        """Id of the run's controller task (created on first use)."""
        return self.task.id

    @property
    def task(self) -> Task:
        """The run's controller task (created on first use)."""
        return self._controller_task()

    @property
    def tags(self) -> list[str]:
        """Tags of the controller task."""
        return self._task.get_tags() if self._task is not None else list(self._tags)

    @property
    def version(self) -> str | None:
        """Pipeline version (set when the run starts, unless given)."""
        return self._version

    @property
    def result(self) -> RunResult | None:
        """How the run ended (None while it runs)."""
        return self._result

    # == class-level helpers (work from inside steps) ===========================================

    @classmethod
    def _pipeline_task(cls) -> Task:
        current = Task.current_task()
        if current is None:
            raise ValueError("no current task: call this from a pipeline step or a pipeline script")
        if "pipeline" in current.get_system_tags():
            return current
        parent = current.parent
        main = PROCESS.main_task
        if parent and main is not None and main.id == parent:
            return main  # type: ignore[no-any-return]
        if parent:
            candidate = Task.get_task(task_id=parent)
            if "pipeline" in candidate.get_system_tags():
                return candidate
        raise ValueError(f"task {current.id} is not a pipeline step (its parent is not a pipeline run)")

    @classmethod
    def get_logger(cls) -> Any:
        """Logger of the pipeline run (from a step: the step's parent run)."""
        return cls._pipeline_task().get_logger()

    @classmethod
    def upload_artifact(
        cls,
        name: str,
        artifact_object: Any,
        metadata: Mapping[str, Any] | None = None,
        delete_after_upload: bool = False,
        auto_pickle: bool | None = None,
        preview: Any = None,
        wait_on_upload: bool = False,
        serialization_function: Callable[[Any], bytes] | None = None,
        sort_keys: bool = True,
    ) -> bool:
        """Upload an artifact to the pipeline run (callable from any step)."""
        return cls._pipeline_task().upload_artifact(
            name,
            artifact_object,
            metadata=metadata,
            delete_after_upload=delete_after_upload,
            preview=preview,
            serialization_function=serialization_function,
        )

    @classmethod
    def upload_model(cls, model_name: str, model_local_path: str, upload_uri: str | None = None) -> Any:
        """Register an output model (a file or folder) on the pipeline run."""
        return cls._pipeline_task().update_output_model(model_local_path, name=model_name)

    @classmethod
    def get(
        cls,
        pipeline_id: str | None = None,
        pipeline_project: str | None = None,
        pipeline_name: str | None = None,
        pipeline_version: str | None = None,
        pipeline_tags: Sequence[str] | None = None,
        shallow_search: bool = False,
    ) -> PipelineController:
        """An existing run: by id, or the latest (highest version) of a pipeline by project + name."""
        record = find_run(
            PROCESS.session().store,
            pipeline_id,
            pipeline_project,
            pipeline_name,
            pipeline_version,
            pipeline_tags,
        )
        return cls._wrap(Task.get_task(task_id=record.id))

    @classmethod
    def clone(
        cls,
        pipeline_controller: PipelineController | str,
        name: str | None = None,
        comment: str | None = None,
        parent: str | None = None,
        project: str | None = None,
        version: str | None = None,
    ) -> PipelineController:
        """A draft copy of a run (to edit parameters and start again)."""
        source = (
            pipeline_controller.id
            if isinstance(pipeline_controller, PipelineController)
            else pipeline_controller
        )
        target_project = None
        if project or name:
            src = Task.get_task(task_id=source)
            base_name = name or src.name.split(" #")[0]
            target_project = pipelines_project(project, base_name) if project else src.project
        clone = Task.clone(source, name=name, comment=comment, parent=parent, project=target_project)
        if version is not None:
            check_version(version)
            clone.set_parameter("properties/version", version)
            clone.set_runtime_properties({"version": version})
        return cls._wrap(clone)

    @classmethod
    def enqueue(
        cls,
        pipeline_controller: PipelineController | str,
        queue_name: str | None = None,
        queue_id: str | None = None,
        force: bool = False,
    ) -> Any:
        """Enqueue a (draft) run for an agent."""
        task_id = (
            pipeline_controller.id
            if isinstance(pipeline_controller, PipelineController)
            else pipeline_controller
        )
        return Task.enqueue(task_id, queue_name=queue_name, queue_id=queue_id, force=force)

    @classmethod
    def _wrap(cls, task: Task) -> PipelineController:
        name = task.name.split(" #")[0]
        project = task.project.split("/.pipelines/")[0]
        obj = cls(name=name, project=project)
        obj._task = task
        obj._version = str(task.get_runtime_properties().get("version") or "") or None
        stored = {p.name: p.value for p in task._store().get_params(task.id) if p.section == "Args"}
        obj._params = dict(stored)
        return obj


def _resume_requested(store: Any, task_id: str) -> bool:
    """True when the attached run was queued for resume (``enqueue_resume``); clears the mark."""
    if not task_id:
        return False
    if store.get_task(task_id).runtime.get("_resume"):
        store.update_task(task_id, runtime={"_resume": False})
        return True
    return False


def say(message: str, *, error: bool = False) -> None:
    """Tell the person at the terminal (the user-facing messages of start())."""
    print(message, file=sys.stderr if error else sys.stdout, flush=True)


def _main_script() -> Path | None:
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    return Path(path).resolve() if path else None
