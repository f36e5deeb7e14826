"""Starting a run: the mode, the launcher it implies, and the one way a run is started.

:class:`PipelineLaunch` is the third part of ``PipelineController`` (see
:mod:`taskmill.api.pipeline.controller`). Both APIs start runs the same way:

* :func:`chosen_mode`: an agent's or the CLI's ``TASKMILL_PIPELINE_MODE`` wins over the mode the
  code asks for.
* :meth:`PipelineLaunch._launcher`: the one factory picking a launcher from a
  :class:`~taskmill.engine.launchers.RunMode` (``remote`` has none: see :func:`hand_over`).
* :meth:`PipelineLaunch._start_run`: the one place a run loop is built and started, from a
  :class:`RunPlan`, for ``PipelineController`` and ``PipelineDecorator`` alike. Non-blocking:
  it returns the :class:`~taskmill.api.pipeline.control.RunHandle` of the started run.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from taskmill.api.pipeline.control import RunHandle
from taskmill.api.pipeline.progress import ProgressView
from taskmill.api.pipeline.records import PipelineRecords, resume_requested
from taskmill.api.pipeline.step_main import PROCESS_TARGETS, STEP_PRELOAD, backend_for, execute_in_process
from taskmill.api.pipeline.step_packages import PackageDetector
from taskmill.api.pipeline.verify import verify_pipeline
from taskmill.api.session import PROCESS, Session
from taskmill.api.task import Task
from taskmill.config import Settings
from taskmill.core.states import TaskStatus
from taskmill.engine.backend import Backend
from taskmill.engine.drafts import DraftGate
from taskmill.engine.launcher_api import LauncherContext
from taskmill.engine.launcher_plugins import LAUNCHER_ENV, RoutingLauncher, build_launcher
from taskmill.engine.launchers import InlineLauncher, Launcher, ProcessLauncher, QueueLauncher, RunMode
from taskmill.engine.nodes import Node
from taskmill.engine.queues import check_step_queues, ensure_standard_queue, served
from taskmill.engine.scheduler import PipelineRun, RunHooks, RunOptions, RunResult
from taskmill.engine.steps import RunContext, StepBuilder
from taskmill.errors import ExecutionError, NotFoundError, SpecError
from taskmill.runs.records import interrupt_unfinished
from taskmill.runs.restore import resumable_nodes
from taskmill.store.base import TaskStore

Callback = Callable[..., Any]


def chosen_mode(requested: RunMode, settings: Settings) -> RunMode:
    """The mode a run uses: ``TASKMILL_PIPELINE_MODE`` when set (an agent's or the CLI's
    choice), else ``requested``. ExecutionError for a mode name that does not exist."""
    return RunMode.parse(settings.pipeline_mode) if settings.pipeline_mode else requested


def say(message: str, *, error: bool = False) -> None:
    """Tell the person at the terminal (what ``start()`` reports before it exits)."""
    print(message, file=sys.stderr if error else sys.stdout, flush=True)


def check_run_queue(store: TaskStore, queue: str | None, *, pipeline: str) -> None:
    """Refuse a run for ``queue`` before anything is recorded, when that queue does not exist.

    A standard queue (``services``, ``default``) is created instead (it exists out of the box, as in
    ClearML). ``None`` (a draft run) needs no queue. Raises SpecError naming the queue and the fix.
    Blocking: one or two store calls.
    """
    if queue is None or ensure_standard_queue(store, queue):
        return
    try:
        store.get_queue(queue)
    except NotFoundError:
        raise SpecError(
            f"pipeline '{pipeline}' cannot go to queue '{queue}': no such queue, so no run was "
            f"recorded; create it with `taskmill queues create {queue}`, or start an agent serving "
            f"it (`taskmill agent --queue {queue} --services-mode` creates it), then start again"
        ) from None


def hand_over(task: Task, *, queue: str | None) -> None:
    """Remote mode: put the recorded run on ``queue`` for an agent, say so (and whether an agent
    serves it), and exit this process (ClearML's ``execute_remotely``). ``None`` leaves a draft
    run. Does not return."""
    store = task._store()
    if queue is not None:
        ensure_standard_queue(store, queue)  # the controllers' queue exists out of the box (ClearML's too)
        say(
            f"Pipeline run {task.id} ({task.name}) goes to queue '{queue}'; "
            f"follow it with `taskmill pipelines show {task.id}`"
        )
        if not served(store, queue):
            say(
                f"note: no agent serves queue '{queue}' yet; start one with "
                f"`taskmill agent --queue {queue} --services-mode`",
                error=True,
            )
    from taskmill.api.capture import in_notebook  # a Jupyter kernel must survive start(): return there

    task.execute_remotely(queue_name=queue, exit_process=not in_notebook())


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


@dataclass(frozen=True)
class RunPlan:
    """What one run is started with (built once by the controller or the decorator).

    ``nodes`` start the run (the decorator adds its steps while it runs: ``open_ended``);
    ``done`` names nodes kept from an earlier attempt (resume). ``on_change`` is told of every
    node change besides the progress display; ``on_end`` runs once the run was recorded.
    """

    mode: RunMode
    params: Mapping[str, Any]
    nodes: Sequence[Node] = ()
    done: Sequence[str] = ()
    max_parallel: int | None = None
    recompute: bool | frozenset[str] = False
    open_ended: bool = False
    progress: bool | None = None
    step_task_created_callback: Callback | None = None
    step_task_completed_callback: Callback | None = None
    on_change: Callable[[Node], None] | None = None
    on_end: Callable[[], None] | None = None
    #: the run's launcher spec (``NAME[@ADDRESS]``, process mode); None: ``TASKMILL_LAUNCHER``,
    #: else the process launcher
    launcher: str | None = None


class PipelineLaunch(PipelineRecords):
    """The launch part of ``PipelineController`` (see the module docstring)."""

    #: the started run (None until it starts; one run per controller object)
    _handle: RunHandle | None = None
    #: ``start()``'s step_task_created_callback and step_task_completed_callback
    _launch_callbacks: tuple[Callback | None, Callback | None] = (None, None)

    def _dag_nodes(self) -> Mapping[str, Node]:
        return self._handle.nodes if self._handle is not None else self._nodes

    # -- the controller's runs -------------------------------------------------------------------

    def _enqueue_run(self, queue: str | None) -> None:
        """Remote mode: verify, record the run and hand it to ``queue`` (exits the process)."""
        store = PROCESS.session().store
        verify_pipeline(self._nodes, self._params, store)
        check_run_queue(store, queue, pipeline=self._name)
        check_step_queues(store, self._step_queues(), default=self._default_queue)
        task = self._controller_task()
        self._record_definition(task, params=self._params)
        hand_over(task, queue=queue)

    def _step_queues(self) -> list[tuple[str, str | None]]:
        return [(n.name, n.spec.queue) for n in self._nodes.values()]

    def _execute(
        self,
        mode: RunMode,
        *,
        wait: bool = True,
        max_parallel: int | None = None,
        recompute: bool | Sequence[str] = False,
        resume: str | None = None,
        progress: bool | None = None,
        launcher: str | None = None,
    ) -> None:
        """Run the defined steps with the controller here (``wait``: block until the run ends);
        ``launcher``: the launcher spec of a process-mode run."""
        if self._handle is not None:
            raise ExecutionError(
                f"pipeline '{self._name}' was already started; build a new PipelineController"
            )
        session = PROCESS.session()
        settings = session.settings
        store = session.store
        verify_pipeline(self._nodes, self._params, store)
        resume = resume or (
            settings.task_id if settings.resume or resume_requested(store, settings.task_id) else None
        )
        if mode is RunMode.queue:
            attached = resume or settings.task_id
            if attached:
                # an agent's or a resume's run: the recorded default queue counts before the check
                self._adopt_stored_queue(Task.get_task(task_id=attached))
            check_step_queues(store, self._step_queues(), default=self._default_queue)
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
        self._record_definition(task, params=params)
        created, completed = self._launch_callbacks
        handle = self._start_run(
            task,
            RunPlan(
                mode=mode,
                params=params,
                nodes=nodes,
                done=done,
                max_parallel=max_parallel,
                recompute=True if recompute is True else frozenset(recompute or ()),
                progress=progress,
                step_task_created_callback=created,
                step_task_completed_callback=completed,
                launcher=launcher,
            ),
        )
        if wait:
            handle.join_interruptibly()

    def _fresh_node(self, node: Node) -> Node:
        retry = resolve_retry(node.hooks.retry_on_failure, node.spec.retries, self._retry)
        return Node(spec=node.spec, hooks=replace(node.hooks, retry_on_failure=retry))

    # -- starting a run (both APIs) --------------------------------------------------------------

    def _start_run(self, task: Task, plan: RunPlan) -> RunHandle:
        """Build the run loop for ``plan`` on controller ``task`` and start it on its own thread."""
        session = PROCESS.session()
        backend = backend_for(session)
        ctx = RunContext(
            run_id=task.id,
            step_project=self._step_project(),
            params=plan.params,
            add_pipeline_tags=self._add_pipeline_tags,
            output_uri=self._uri(self._output_uri),
            default_queue=self._default_queue,
            with_payload=plan.mode is not RunMode.debug,  # other processes need the pickled function
            serialize=self._serialize,
            deserialize=self._deserialize,
            # steps that run elsewhere record what they import, for agents to build environments
            detect_packages=None if plan.mode is RunMode.debug else PackageDetector().requirements,
        )
        view = ProgressView(self._name, task.id, enabled=plan.progress, log=lambda m: task._reporter().log(m))
        extra = plan.on_change

        def on_change(node: Node) -> None:
            view.on_change(node)
            if extra is not None:
                extra(node)

        run = PipelineRun(
            backend,
            StepBuilder(backend, ctx),
            self._launcher(plan.mode, backend, session=session, console=view.console, launcher=plan.launcher),
            plan.nodes,
            run_id=task.id,
            done=plan.done,
            options=RunOptions(
                abort_on_failure=self._abort_on_failure,
                max_parallel=plan.max_parallel or self._max_parallel,
                time_limit=self._time_limit_min * 60 if self._time_limit_min else None,
                recompute=plan.recompute,
                retry_on_failure=self._retry,
                open_ended=plan.open_ended,
            ),
            hooks=RunHooks(
                pipeline=self,
                step_task_created_callback=plan.step_task_created_callback,
                step_task_completed_callback=plan.step_task_completed_callback,
                on_change=on_change,
                console=view.console,
            ),
        )

        def finish(result: RunResult) -> None:
            self._record_result(task, view, result)
            if plan.on_end is not None:
                plan.on_end()

        handle = RunHandle(run, finish=finish, console=view.console)
        self._handle = handle
        view.start(run.nodes)
        handle.start()
        return handle

    def _record_result(self, task: Task, view: ProgressView, result: RunResult) -> None:
        """End the controller task as the run ended, with its final DAG (run loop thread)."""
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

    def _launcher(
        self,
        mode: RunMode,
        backend: Backend,
        *,
        session: Session,
        console: Callable[[str], None],
        launcher: str | None = None,
    ) -> Launcher:
        """The launcher of ``mode`` (the one place that picks it). Process mode uses the run's
        launcher spec (``launcher``, else ``TASKMILL_LAUNCHER``, else the process launcher);
        steps that name a launcher of their own get it in every mode. Local launchers hold
        draft steps back until a person releases them (:class:`~taskmill.engine.drafts.DraftGate`)."""
        ctx = self._launch_context(backend, session, console)
        worker = f"pipeline controller on {socket.gethostname()}"

        def gated(inner: Launcher) -> Launcher:
            return DraftGate(inner, backend.store, warn=console, worker=worker)

        if mode is RunMode.queue:
            run: Launcher = QueueLauncher(backend.store, warn=console)
        elif mode is RunMode.debug:
            # a task step re-runs a script, which cannot be a call here: it gets a process, as
            # in process mode, so debug mode runs every pipeline
            inline = self._inline_launcher(backend, session)
            run = gated(
                RoutingLauncher(
                    inline,
                    lambda _spec: self._process_launcher(ctx),
                    choose=lambda node: None if node.spec.kind == "function" else "process",
                )
            )
        elif mode is RunMode.process:
            spec = launcher or os.environ.get(LAUNCHER_ENV) or None
            run = gated(build_launcher(spec, ctx) if spec else self._process_launcher(ctx))
        else:
            raise ExecutionError(
                f"pipeline mode '{mode}' runs no steps here; use 'process', 'debug' or 'queue'"
            )
        return RoutingLauncher(run, lambda step_spec: gated(build_launcher(step_spec, ctx)))

    def _inline_launcher(self, backend: Backend, session: Session) -> InlineLauncher:
        pipeline_uri = self._uri(self._output_uri)

        def execute(task_id: str, node: Node) -> None:
            assert node.hooks.function is not None
            execute_in_process(
                backend,
                session,
                task_id,
                function=node.hooks.function,
                return_names=node.spec.function_return,
                serialize=self._serialize,
                deserialize=self._deserialize,
                output_uri=node.spec.output_uri or pipeline_uri,
                started=True,  # the scheduler creates an in-process step's task running
            )

        return InlineLauncher(execute, backend.store, max_workers=self._max_parallel)

    def _launch_context(
        self, backend: Backend, session: Session, console: Callable[[str], None]
    ) -> LauncherContext:
        """How this run's step processes start, for any launcher."""
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
        env.pop(LAUNCHER_ENV, None)  # a pipeline run inside a step picks its own launcher
        return LauncherContext(
            store=backend.store,
            store_url=session.settings.store_url,
            targets=PROCESS_TARGETS,
            env=env,
            sys_path=tuple(sys_path),
            preload=tuple(preload),
            max_parallel=self._max_parallel,
            console=console,
        )

    def _process_launcher(self, ctx: LauncherContext) -> ProcessLauncher:
        return ProcessLauncher(
            ctx.store, ctx.targets, env=ctx.env, sys_path=ctx.sys_path, preload=ctx.preload
        )
