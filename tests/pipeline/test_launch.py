"""Choosing a run's mode, and a step's retry policy."""

from __future__ import annotations

from pathlib import Path

import pytest

from taskmill.api.pipeline.launch import chosen_mode, resolve_retry
from taskmill.config import Settings
from taskmill.engine.launchers import RunMode
from taskmill.errors import ExecutionError


def settings(mode: str = "") -> Settings:
    return Settings(home=Path("/tmp"), store_url="sqlite://", artifacts_uri="/tmp/a", pipeline_mode=mode)


def test_the_environment_mode_wins_over_the_requested_one() -> None:
    assert chosen_mode(RunMode.remote, settings()) is RunMode.remote
    assert chosen_mode(RunMode.process, settings("debug")) is RunMode.debug
    with pytest.raises(ExecutionError, match="unknown pipeline mode 'fast'"):
        chosen_mode(RunMode.queue, settings("fast"))


def test_a_step_retry_policy_beats_the_pipeline_one() -> None:
    def policy(*_: object) -> bool:
        return False

    assert resolve_retry(policy, 3, 1) is policy
    assert resolve_retry(None, 3, 1) == 3
    assert resolve_retry(None, None, 1) == 1
    assert resolve_retry(None, None, None) is None
