"""The chaos suite, bounded: one trial per fault with real processes (``bench/bench_chaos.py``
runs many). Each asserts the issue's target figure: zero."""

from __future__ import annotations

from pathlib import Path

from tests.chaos.faults import agent_killed_no_peer, controller_killed, server_outage


def test_killed_controller_group_leaves_no_step_running(tmp_path: Path) -> None:
    trial = controller_killed(tmp_path)
    assert not trial.notes
    assert (trial.orphans, trial.side_effects_after_kill) == (0, 0)


def test_dead_agent_with_no_peer_is_reaped_by_the_server(tmp_path: Path) -> None:
    trial = agent_killed_no_peer(tmp_path, dead_after=2.0)
    assert not trial.notes
    assert trial.running_forever == 0
    assert trial.detect_seconds is not None and trial.detect_seconds < 8.0  # dead_after + a check
    assert (trial.orphans, trial.side_effects_after_kill) == (0, 0)


def test_a_20s_server_outage_fails_no_step(tmp_path: Path) -> None:
    trial = server_outage(tmp_path, outage=20.0)
    assert (trial.failed_by_outage, trial.running_forever) == (0, 0), trial.notes
