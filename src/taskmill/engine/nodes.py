"""``Node``: a step's live state in a run (what ClearML callbacks receive), and its ``Job`` handle.

Field names follow ClearML's ``PipelineController.Node`` so callback code keeps working:
``name``, ``parents``, ``status``, ``executed``, ``job``, ``job_started``, ``job_ended`` ...
taskmill adds ``attempts`` (every task id that ran the step), ``cache`` (the cache explanation)
and ``message`` (why it ended as it did).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from taskmill.core.pipeline import ContinueBehaviour, NodeStatus, StepSpec, check_node_transition
from taskmill.core.states import TaskStatus
from taskmill.store.base import TaskStore
from taskmill.types import JSONValue


class Job:
    """ClearML's ``node.job``: the task that runs (or ran) a step."""

    def __init__(
        self, task_id: str, store: TaskStore, task_factory: Callable[[str], Any], *, cached: bool = False
    ) -> None:
        self._task_id = task_id
        self._store = store
        self._factory = task_factory
        self._cached = cached

    def task_id(self) -> str:
        """Id of the step's task."""
        return self._task_id

    @property
    def task(self) -> Any:
        """The step's ``Task`` object."""
        return self._factory(self._task_id)

    def _status(self) -> TaskStatus:
        return self._store.get_task(self._task_id).status

    def is_completed(self) -> bool:
        """The task completed (or was published)."""
        return self._status().succeeded

    def is_failed(self) -> bool:
        """The task failed."""
        return self._status() == TaskStatus.failed

    def is_aborted(self) -> bool:
        """The task was stopped."""
        return self._status() == TaskStatus.stopped

    def is_running(self) -> bool:
        """The task is running."""
        return self._status() == TaskStatus.in_progress

    def is_pending(self) -> bool:
        """The task waits (draft or queued)."""
        return self._status() in (TaskStatus.created, TaskStatus.queued)

    def is_cached_task(self) -> bool:
        """The step reused an earlier task from the cache."""
        return self._cached


@dataclass
class StepHooks:
    """The callables of a step (kept out of the JSON-able spec)."""

    function: Callable[..., Any] | None = None
    base_task_factory: Callable[[Node], Any] | None = None
    pre_execute_callback: Callable[..., Any] | None = None
    post_execute_callback: Callable[..., Any] | None = None
    status_change_callback: Callable[..., Any] | None = None
    retry_on_failure: int | Callable[..., bool] | None = None
    #: objects passed as function kwargs that are not JSON-able; uploaded to the controller at start
    object_kwargs: dict[str, Any] = field(default_factory=dict)
    #: the step's own launcher spec (``NAME[@ADDRESS]``); None: the run's launcher
    launcher: str | None = None


@dataclass(eq=False)
class Node:
    """A step of one run: its spec, hooks and live state."""

    spec: StepSpec
    hooks: StepHooks = field(default_factory=StepHooks)
    status: NodeStatus = NodeStatus.pending
    executed: str | bool | None = None  #: task id once finished; False = failed and children skipped
    job: Job | None = None
    job_id: str | None = None
    job_started: float | None = None
    job_ended: float | None = None
    skip_job: bool = False
    attempts: list[str] = field(default_factory=list)
    cache: dict[str, JSONValue] = field(default_factory=dict)
    message: str = ""
    resolved_queue: str | None = None

    # -- ClearML field names -------------------------------------------------------------------

    @property
    def name(self) -> str:
        """Step name."""
        return self.spec.name

    @property
    def parents(self) -> list[str]:
        """Parent step names (explicit and inferred from references)."""
        return list(self.spec.parents)

    @property
    def base_task_id(self) -> str | None:
        """Template task of a task step."""
        return self.spec.base_task_id

    @property
    def queue(self) -> str | None:
        """Execution queue (may be a reference before launch)."""
        return self.spec.queue

    @property
    def timeout(self) -> float | None:
        """Step time limit in seconds."""
        return self.spec.time_limit

    @property
    def parameters(self) -> dict[str, Any]:
        """``Section/key`` overrides, unresolved."""
        return dict(self.spec.parameters)

    @property
    def configurations(self) -> dict[str, Any]:
        """Configuration overrides."""
        return dict(self.spec.configurations)

    @property
    def task_overrides(self) -> dict[str, Any]:
        """Task field overrides."""
        return dict(self.spec.task_overrides)

    @property
    def cache_executed_step(self) -> bool:
        """Whether the step may reuse an earlier identical run."""
        return self.spec.cache

    @property
    def return_artifacts(self) -> list[str]:
        """Names of a function step's return values."""
        return list(self.spec.function_return)

    @property
    def job_type(self) -> str:
        """Task type of the step's task."""
        return self.spec.task_type

    @property
    def task_factory_func(self) -> Callable[[Node], Any] | None:
        """Factory creating the step's task (``base_task_factory``)."""
        return self.hooks.base_task_factory

    @property
    def stage(self) -> str | None:
        """Stage the step belongs to (UI grouping)."""
        return self.spec.stage

    @property
    def draft(self) -> bool:
        """Create the task but leave it for someone to enqueue."""
        return self.spec.draft

    @property
    def behaviour(self) -> ContinueBehaviour:
        """Failure behaviour."""
        return self.spec.behaviour

    @property
    def continue_on_fail(self) -> bool:
        """A failure does not fail the pipeline."""
        return self.spec.behaviour.continue_on_fail

    @property
    def continue_on_abort(self) -> bool:
        """An abort does not fail the pipeline."""
        return self.spec.behaviour.continue_on_abort

    @property
    def skip_children_on_fail(self) -> bool:
        """A failure skips the descendants."""
        return self.spec.behaviour.skip_children_on_fail

    @property
    def skip_children_on_abort(self) -> bool:
        """An abort skips the descendants."""
        return self.spec.behaviour.skip_children_on_abort

    @property
    def recursively_parse_parameters(self) -> bool:
        """References inside nested lists/dicts are resolved too."""
        return self.spec.recursively_parse_parameters

    @property
    def monitor_metrics(self) -> list[Any]:
        """Metrics copied to the pipeline task."""
        return list(self.spec.monitor_metrics)

    @property
    def monitor_artifacts(self) -> list[Any]:
        """Artifacts linked on the pipeline task."""
        return list(self.spec.monitor_artifacts)

    @property
    def monitor_models(self) -> list[Any]:
        """Models linked on the pipeline task."""
        return list(self.spec.monitor_models)

    @property
    def output_uri(self) -> str | None:
        """Artifact destination of the step."""
        return self.spec.output_uri

    # -- state -------------------------------------------------------------------------------

    def set_status(self, status: NodeStatus) -> NodeStatus:
        """Move to ``status`` (checked against the node table); returns the previous status."""
        previous = self.status
        check_node_transition(self.name, previous, status)
        self.status = status
        return previous

    def to_dict(self) -> dict[str, JSONValue]:
        """The stored form: ClearML's node fields plus taskmill's, for the UI and resume."""
        return {
            "name": self.name,
            "kind": self.spec.kind,
            "parents": list(self.spec.parents),
            "status": self.status.value,
            "executed": self.executed,
            "job_id": self.job_id,
            "job_started": self.job_started,
            "job_ended": self.job_ended,
            "job_type": self.spec.task_type,
            "queue": self.resolved_queue or self.spec.queue,
            "timeout": self.spec.time_limit,
            "stage": self.spec.stage,
            "skip_job": self.skip_job,
            "cache_executed_step": self.spec.cache,
            "return_artifacts": list(self.spec.function_return),
            "attempts": list(self.attempts),
            "cache": dict(self.cache),
            "message": self.message,
            "parameters": {
                k: v if isinstance(v, (str, int, float, bool)) or v is None else str(v)
                for k, v in self.spec.parameters.items()
            },
            "continue_on_fail": self.spec.behaviour.continue_on_fail,
            "continue_on_abort": self.spec.behaviour.continue_on_abort,
            "skip_children_on_fail": self.spec.behaviour.skip_children_on_fail,
            "skip_children_on_abort": self.spec.behaviour.skip_children_on_abort,
        }
