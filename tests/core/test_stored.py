"""The stored names: the step targets name real entry points of the step process."""

from __future__ import annotations

import importlib
import subprocess
import sys

from taskmill.core.stored import STEP_TARGETS


def test_each_step_target_is_a_callable_of_the_step_process_module() -> None:
    for kind, target in STEP_TARGETS.items():
        module, _, name = target.partition(":")
        assert callable(getattr(importlib.import_module(module), name)), kind


def test_naming_the_targets_loads_no_pipeline_api() -> None:
    # An agent names the targets at start-up; the pipeline API is loaded only in the step process.
    code = (
        "import sys, taskmill.agent.execution; "
        "print([m for m in sys.modules if m.startswith('taskmill.api.pipeline')])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
