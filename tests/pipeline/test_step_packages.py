"""Function steps that name no packages record what they import (ClearML's auto-detection), so an
agent can build their environment; named packages win; in-process runs record none."""

from __future__ import annotations

from importlib import metadata

from taskmill import PipelineController, Task
from taskmill.api.pipeline.step_packages import PackageDetector, imported_top_level
from taskmill.store.base import TaskFilter, TaskStore


def uses_numpy_and_json(n: int) -> int:
    import json

    import numpy as np
    from numpy import linalg  # noqa: F401 - the same distribution, recorded once

    return int(np.arange(n).sum()) + len(json.dumps({}))


def plain(n: int) -> int:
    return n


NUMPY = f"numpy=={metadata.version('numpy')}"


def test_the_imports_of_a_source_map_to_installed_distributions() -> None:
    source = (
        "import os\nimport numpy.linalg\nfrom taskmill import Task\n"
        "from . import sibling\nimport my_own_module\n"
    )
    assert imported_top_level(source) == ["os", "numpy", "taskmill", "my_own_module"]
    assert PackageDetector().requirements(source) == [NUMPY]  # stdlib, taskmill, own modules left out
    assert imported_top_level("def broken(:\n") == []


def test_process_steps_record_their_imports_and_named_packages_win(store: TaskStore) -> None:
    pipe = PipelineController(name="pkgs", project="pkg-tests")
    pipe.add_function_step("auto", uses_numpy_and_json, function_kwargs={"n": 3}, function_return=["r"])
    pipe.add_function_step("none", plain, function_kwargs={"n": 1}, function_return=["r"])
    pipe.add_function_step(
        "named", plain, function_kwargs={"n": 2}, function_return=["r"], packages=["requests>=2"]
    )
    pipe.start_locally(run_pipeline_steps_locally=True)
    steps = {t.name: t for t in store.find_tasks(TaskFilter(project="pkg-tests", include_subprojects=True))}
    assert steps["auto"].script.requirements.splitlines() == [NUMPY]
    assert steps["none"].script.requirements == ""
    assert steps["named"].script.requirements == "requests>=2"
    assert Task.get_task(task_id=steps["auto"].id).get_parameters()["return/r"] == 5


def test_in_process_steps_record_no_detected_packages(store: TaskStore) -> None:
    pipe = PipelineController(name="pkgs-debug", project="pkg-tests-debug")
    pipe.add_function_step("auto", uses_numpy_and_json, function_kwargs={"n": 3}, function_return=["r"])
    pipe.debug_pipeline()  # nothing runs elsewhere: no environment to build
    (step,) = [
        t
        for t in store.find_tasks(TaskFilter(project="pkg-tests-debug", include_subprojects=True))
        if t.name == "auto"
    ]
    assert step.script.requirements == ""
