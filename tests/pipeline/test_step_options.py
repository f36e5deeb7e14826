"""``StepOptions``: one value per step option, normalised once into spec fields and hooks."""

from __future__ import annotations

import dataclasses

import pytest

from taskmill.api.pipeline.step_options import StepOptions
from taskmill.core.pipeline import ContinueBehaviour


def test_defaults_match_clearml() -> None:
    fields = StepOptions().spec_fields()
    assert fields["behaviour"] == ContinueBehaviour()  # a failure fails the run, children skipped
    assert fields["queue"] is None and fields["retries"] is None and fields["cache"] is False
    function = StepOptions().function_fields()
    assert function["task_type"] == "data_processing" and function["tags"] == () and not function["draft"]


def test_values_are_normalised_once() -> None:
    options = StepOptions(
        execution_queue="gpu",
        continue_behaviour={"continue_on_fail": True},
        monitor_metrics=[("loss", "train")],
        monitor_artifacts=["table", ("model", "best")],
        retry_on_failure=2,
        tags="nightly",
        packages=["numpy"],
    )
    fields = options.spec_fields()
    assert fields["queue"] == "gpu" and fields["retries"] == 2
    # with a continue_behaviour dict, the keys it leaves out default to True (ClearML's rule)
    assert fields["behaviour"] == ContinueBehaviour(True, True, True, True)
    assert fields["monitor_metrics"] == ((("loss", "train"), ("loss", "train")),)
    assert fields["monitor_artifacts"] == (("table", "table"), ("model", "best"))
    assert options.function_fields()["tags"] == ("nightly",)
    assert options.function_fields()["packages"] == ("numpy",)
    with pytest.raises(ValueError, match="unknown keys"):
        StepOptions(continue_behaviour={"continue_on_typo": True}).spec_fields()


def test_a_callable_retry_policy_is_a_hook_not_a_count() -> None:
    def policy(pipeline: object, node: object, retries: int) -> bool:
        return retries < 1

    options = StepOptions(retry_on_failure=policy, pre_execute_callback=print)
    assert options.spec_fields()["retries"] is None
    hooks = options.hooks(object_kwargs={"frame": object()})
    assert hooks.retry_on_failure is policy and hooks.pre_execute_callback is print
    assert set(hooks.object_kwargs) == {"frame"}
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.cache = True  # type: ignore[misc]
