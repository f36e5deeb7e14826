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

The class is built in parts, one concern per module, each part a base of the next:

* :mod:`~taskmill.api.pipeline.definition`: the constructor, parameters and ``add_*`` methods;
* :mod:`~taskmill.api.pipeline.records`: the controller task and what a run records on it;
* :mod:`~taskmill.api.pipeline.launch`: modes, launchers and starting a run;
* this module: the public run methods, the controls on a started run (a
  :class:`~taskmill.api.pipeline.control.RunHandle`), and the class-level helpers steps call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from taskmill.api.pipeline.launch import PipelineLaunch, chosen_mode
from taskmill.api.pipeline.verify import verify_pipeline
from taskmill.api.session import PROCESS
from taskmill.api.task import Task
from taskmill.core.model import pipelines_project
from taskmill.core.pipeline import NodeStatus
from taskmill.core.stored import SERVICES_QUEUE
from taskmill.core.versions import check_version
from taskmill.engine.launchers import RunMode
from taskmill.engine.nodes import Node
from taskmill.engine.scheduler import RunResult
from taskmill.runs.records import find_run


class PipelineController(PipelineLaunch):
    """A pipeline of steps (cloned tasks or functions) run by one controller task."""

    # == running ================================================================================

    def start(
        self,
        queue: str | None = SERVICES_QUEUE,
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
            self._execute(chosen_mode(RunMode.queue, settings), wait=wait)
            return True
        self._enqueue_run(queue)
        return True

    def start_locally(
        self,
        run_pipeline_steps_locally: bool = False,
        *,
        max_parallel: int | None = None,
        recompute: bool | Sequence[str] = False,
        resume: str | None = None,
        progress: bool | None = None,
        launcher: str | None = None,
    ) -> None:
        """Run the controller here and block until the run ends.

        ``run_pipeline_steps_locally=True``: each step runs in its own process, forked from a
        warm worker (taskmill and your modules already imported). ``False``: steps go to their
        queues, where agents (``taskmill agent --queue Q``) run them. ``recompute``: True, or
        step names, to ignore the cache.
        ``resume``: the id of a failed, aborted or interrupted run to continue (completed steps
        are kept). ``progress``: live progress display (default: when the output is a terminal).
        ``launcher``: where process-mode steps run (``"process"``, ``"dask"``, ``"ray"``,
        ``"NAME@ADDRESS"`` or a ``taskmill.launchers`` entry point; default ``TASKMILL_LAUNCHER``).
        """
        requested = RunMode.process if run_pipeline_steps_locally else RunMode.queue
        mode = chosen_mode(requested, PROCESS.session().settings)
        self._execute(
            mode,
            max_parallel=max_parallel,
            recompute=recompute,
            resume=resume,
            progress=progress,
            launcher=launcher,
        )

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
        mode = chosen_mode(RunMode.debug, PROCESS.session().settings)
        self._execute(mode, max_parallel=max_parallel, recompute=recompute, resume=resume, progress=progress)

    def create_draft(self) -> None:
        """Verify and store the pipeline as a draft run (to start later)."""
        verify_pipeline(self._nodes, self._params, PROCESS.session().store)
        task = self._controller_task()
        self._record_definition(task, params=self._params)
        task.close()
        task.reset(force=True)

    # == state and control ======================================================================

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the run ends (``timeout`` in minutes); True if it ended."""
        return self._handle is None or self._handle.wait(timeout)

    def stop(
        self, timeout: float | None = None, mark_failed: bool = False, mark_aborted: bool = False
    ) -> None:
        """Stop the run: running steps are aborted, pending ones skipped. Safe inside callbacks
        (it does not wait there); elsewhere it waits up to ``timeout`` minutes."""
        if self._handle is not None:
            self._handle.stop(timeout=timeout, mark_failed=mark_failed, mark_aborted=mark_aborted)

    def is_running(self) -> bool:
        """True while the run's loop is going."""
        return self._handle is not None and self._handle.is_running()

    def is_successful(self, fail_on_step_fail: bool = True, fail_condition: str = "all") -> bool:
        """True when the run ended as ``fail_condition`` allows and, with ``fail_on_step_fail``,
        every step ended well. Cached steps count as successes."""
        if self._handle is None:
            return False
        return self._handle.is_successful(fail_on_step_fail=fail_on_step_fail, fail_condition=fail_condition)

    def elapsed(self) -> float:
        """Minutes since the run started; -1.0 before."""
        return -1.0 if self._handle is None else self._handle.elapsed()

    def get_pipeline_dag(self) -> dict[str, Node]:
        """``name -> Node`` (live while running)."""
        return dict(self._dag_nodes())

    def get_processed_nodes(self) -> dict[str, Node]:
        """Nodes that finished (completed, cached, failed or aborted)."""
        return {k: n for k, n in self.get_pipeline_dag().items() if n.executed is not None}

    def get_running_nodes(self) -> dict[str, Node]:
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
        return self._handle.result if self._handle is not None else None

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
        if parent and isinstance(main, Task) and main.id == parent:
            return main
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
