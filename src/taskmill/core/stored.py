"""Names taskmill writes into the store and reads back: one definition each.

Every layer that reads or writes these records (the engine that runs steps, the runs layer that
shows and resumes them, the server and the CLI) takes the name from here, so a stored record
written by one version and read by another agrees on its spelling. Constants only.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

#: Queue every new store offers for ordinary tasks and steps (ClearML Server ships it).
DEFAULT_QUEUE: Final = "default"
#: Queue for controllers and other long-running service tasks (ClearML Server ships it).
SERVICES_QUEUE: Final = "services"
#: The queues a store is expected to have from the start, in display order.
STANDARD_QUEUES: Final = (DEFAULT_QUEUE, SERVICES_QUEUE)

#: Parameter section of a function step's plain keyword arguments.
KWARGS: Final = "kwargs"
#: Parameter section of a function step's inputs taken from other tasks' artifacts.
KWARGS_ARTIFACTS: Final = "kwargs_artifacts"
#: Artifact name prefix of a function step's return values.
RETURN: Final = "return"
#: Configuration object holding a function step's cloudpickled function (for other processes).
FUNCTION_PAYLOAD: Final = "__function__"
#: Configuration object holding a run's DAG (ClearML's name; the UI reads it).
PIPELINE_CONFIG: Final = "Pipeline"
#: The step process entry points, by step kind: the ``"module:function"`` a process launcher's
#: child or an agent runs with the task id (defined in :mod:`taskmill.api.pipeline.step_main`).
#: Named here, below every layer that starts step processes, so an agent names them without
#: importing the pipeline API.
STEP_TARGETS: Final = MappingProxyType(
    {
        "function": "taskmill.api.pipeline.step_main:run_function",
        "task": "taskmill.api.pipeline.step_main:run_script",
    }
)

#: Runtime property of a scheduler's or trigger's service task holding its state (what fired,
#: when, and the lease); written by :mod:`taskmill.automation.service`, shown by the CLI.
AUTOMATION_STATE: Final = "_automation/state"
#: System tag of a :class:`~taskmill.automation.TaskScheduler`'s service task.
SCHEDULER_TAG: Final = "scheduler"
#: System tag of a :class:`~taskmill.automation.TriggerScheduler`'s service task.
TRIGGER_TAG: Final = "trigger"
#: Tag of a hyper-parameter optimization's task and of its trials (which also carry ``opt: <id>``).
OPTIMIZATION_TAG: Final = "optimization"
