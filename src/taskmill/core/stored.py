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
