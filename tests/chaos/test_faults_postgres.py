"""The chaos faults whose store matters, on a real PostgreSQL store behind the server: a lost
claim response and a killed services agent must lose and re-run nothing there either
(``bench/bench_chaos.py --store postgres`` runs many trials)."""

from __future__ import annotations

from pathlib import Path

from tests.chaos.faults import agent_killed_no_peer, claims_under_server_kills, remote_controller_killed


def test_server_sigkilled_during_claims_loses_no_task_on_postgres(tmp_path: Path, pg_url: str) -> None:
    trial = claims_under_server_kills(tmp_path, tasks=200, kills=2, db=pg_url)
    assert (trial.lost, trial.duplicates) == (0, 0), trial.notes
    assert not trial.notes


def test_dead_agent_is_reaped_on_postgres(tmp_path: Path, pg_url: str) -> None:
    trial = agent_killed_no_peer(tmp_path, dead_after=2.0, db=pg_url)
    assert not trial.notes
    assert trial.running_forever == 0
    assert (trial.orphans, trial.side_effects_after_kill) == (0, 0)


def test_killed_services_agent_then_resume_reruns_nothing_on_postgres(tmp_path: Path, pg_url: str) -> None:
    trial = remote_controller_killed(tmp_path, db=pg_url)
    assert not trial.notes
    assert (trial.rerun, trial.running_forever) == (0, 0)
