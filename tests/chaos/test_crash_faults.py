"""Crash faults of local runs, bounded (``bench/bench_chaos.py`` runs many trials): each
asserts the issue's target figure, zero."""

from __future__ import annotations

import random
from pathlib import Path

from tests.chaos.crash_faults import busy_writers_killed, machine_died_then_resume, store_creation_killed


def test_every_process_of_a_run_killed_then_resume_reruns_no_completed_step(tmp_path: Path) -> None:
    rng = random.Random(11)
    for trial_no in range(3):
        trial = machine_died_then_resume(tmp_path / str(trial_no), rng=rng)
        assert not trial.notes, trial
        assert trial.kills == 1 and trial.completed_at_kill >= 1
        assert trial.rerun == 0, trial
        assert trial.run_completed


def test_sigkilled_busy_writers_leave_an_intact_store_and_no_garbage_after_gc(tmp_path: Path) -> None:
    trial = busy_writers_killed(tmp_path, kills=10, writers=3, rng=random.Random(11))
    assert not trial.notes, trial
    assert trial.kills >= 10
    assert trial.integrity == "ok"
    assert trial.artifacts > 0 and trial.artifacts_bad == 0
    assert trial.running_after_open == 0  # Task.init scripts killed -9: none Running forever
    assert trial.ended_by_lease > 0  # the kills did leave Running tasks, which the lease ended
    assert trial.dry_run_listed == 0 or trial.temporary_found + trial.unreferenced_found > 0
    assert (trial.temporary_left, trial.unreferenced_left) == (0, 0), trial
    assert trial.live_writer_broken == 0


def test_a_store_killed_while_it_is_created_opens_again(tmp_path: Path) -> None:
    rng = random.Random(7)
    killed = 0
    for trial_no in range(30):  # the migration is one transaction: a kill leaves all of it or none
        trial = store_creation_killed(tmp_path / str(trial_no), rng=rng)
        assert trial.unopenable == 0, trial
        killed += trial.kills
    assert killed > 0  # some kills did land mid-creation
