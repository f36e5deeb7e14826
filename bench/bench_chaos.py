"""Chaos bench: N trials per fault with real processes; prints the issue-11 table with our figures.

Usage: ``python bench/bench_chaos.py [N] [--outage S ...] [--dead-after S] [--kills K] [--only NAME ...]
[--store sqlite|postgres]`` (defaults: N=3, outages 20 and 75 s, the server's dead-after 2 s in the
dead-agent trials, 100 kills of busy writers in one trial; NAME is one of controller, agent,
remote, claims, outage, machine, writers, creation: 20 x N trials). Blocking; each trial runs in a
fresh temporary folder (its own store, server and agents). Figures are counts over all trials,
and medians of times.
``--store postgres`` starts a throwaway PostgreSQL server and gives each server-backed trial (remote,
agent, outage, claims) a fresh database on it; the other rows are about local SQLite files and
run as they do by default.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout: tests.chaos

from tests.chaos.crash_faults import (
    CrashTrial,
    busy_writers_killed,
    machine_died_then_resume,
    store_creation_killed,
)
from tests.chaos.faults import (
    Trial,
    agent_killed_no_peer,
    claims_under_server_kills,
    controller_killed,
    remote_controller_killed,
    server_outage,
)
from tests.plugins.postgres import running_postgres

from taskmill.server.reaper import DEFAULT_DEAD_AFTER, MAX_CHECK_INTERVAL

T = TypeVar("T", Trial, CrashTrial)

FAULTS = ("controller", "agent", "remote", "claims", "outage", "machine", "writers", "creation")


def _run(name: str, trials: int, fault: Callable[[Path], T]) -> list[T]:
    seen: list[T] = []
    for i in range(trials):
        with tempfile.TemporaryDirectory(prefix="taskmill-chaos-") as tmp:
            started = time.monotonic()
            trial = fault(Path(tmp))
            print(f"  {name} #{i + 1}: {trial} ({time.monotonic() - started:.0f} s)", file=sys.stderr)
            seen.append(trial)
    return seen


def _noted(trials: list[Trial] | list[CrashTrial]) -> str:
    bad = sum(bool(t.notes) for t in trials)
    return f"; trials with a problem noted: {bad}" if bad else ""


def main() -> None:
    """Run the trials and print the table (markdown)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("trials", nargs="?", type=int, default=3)
    parser.add_argument("--outage", type=float, action="append", default=None)
    parser.add_argument("--dead-after", type=float, default=2.0)
    parser.add_argument("--kills", type=int, default=100, help="SIGKILLs of busy writers (one trial)")
    parser.add_argument("--only", action="append", choices=FAULTS, default=None)
    parser.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        if args.store == "postgres":
            pg = stack.enter_context(running_postgres())
            if pg is None:
                sys.exit("--store postgres: PostgreSQL is not installed (scripts/test installs it)")
            _table(args, pg.new_database, " on PostgreSQL")
        else:
            _table(args, lambda: None, "")


def _table(args: argparse.Namespace, new_db: Callable[[], str | None], on: str) -> None:
    n, dead, only = args.trials, args.dead_after, set(args.only or FAULTS)
    rows: list[tuple[str, str]] = []

    if "controller" in only:
        ctl = _run("controller", n, controller_killed)
        rows.append(
            (
                f"SIGKILL the controller's process group, process-mode steps ({n} trials, local)",
                f"orphan step processes: {sum(t.orphans for t in ctl)}; side effects after the kill: "
                f"{sum(t.side_effects_after_kill for t in ctl)}{_noted(ctl)}",
            )
        )
    if "remote" in only:
        rem = _run("remote", n, lambda root: remote_controller_killed(root, dead_after=dead, db=new_db()))
        rows.append(
            (
                f"remote: kill the services agent, new agent, resume ({n} trials, real server{on})",
                f"completed steps re-run: {sum(t.rerun for t in rem)}; runs not ended: "
                f"{sum(t.running_forever for t in rem)}{_noted(rem)}",
            )
        )
    if "agent" in only:
        agent = _run("agent", n, lambda root: agent_killed_no_peer(root, dead_after=dead, db=new_db()))
        detect = [t.detect_seconds for t in agent if t.detect_seconds is not None]
        rows.append(
            (
                f"SIGKILL an agent mid-step, no other agent alive, server --dead-after {dead:g} "
                f"({n} trials{on})",
                f"tasks Running forever: {sum(t.running_forever for t in agent)}; orphan step processes: "
                f"{sum(t.orphans for t in agent)}; zombie side effects: "
                f"{sum(t.side_effects_after_kill for t in agent)}; dead agent detected after "
                + (
                    f"{statistics.median(detect):.1f} s median ({min(detect):.1f}-{max(detect):.1f})"
                    if detect
                    else "never"
                )
                + f" (default dead-after {DEFAULT_DEAD_AFTER:g} s: detected within "
                f"{DEFAULT_DEAD_AFTER:g}-{DEFAULT_DEAD_AFTER + MAX_CHECK_INTERVAL:g} s){_noted(agent)}",
            )
        )
    if "outage" in only:
        for outage in args.outage or [20.0, 75.0]:
            runs = _run(
                f"outage {outage:.0f}s", n, lambda root, o=outage: server_outage(root, outage=o, db=new_db())
            )
            rows.append(
                (
                    f"server SIGKILLed, down {outage:.0f} s mid-run, 2 agents, default settings "
                    f"({n} trials{on})",
                    f"runs with a failed step: {sum(bool(t.failed_by_outage) for t in runs)}/{n}; "
                    f"tasks Running forever: {sum(t.running_forever for t in runs)}; agents that said "
                    f"the server was unreachable: {sum(t.said_unreachable for t in runs)}/{2 * n}",
                )
            )
    if "claims" in only:
        claims = _run(
            "claims", n, lambda root: claims_under_server_kills(root, tasks=2000, kills=6, db=new_db())
        )
        rows.append(
            (
                f"server SIGKILLed 6x during 2,000 claims, 2 claimers ({n} trials{on})",
                f"tasks lost (in_progress, no claimer got them): {sum(t.lost for t in claims)}; "
                f"received twice: {sum(t.duplicates for t in claims)}{_noted(claims)}",
            )
        )
    if "machine" in only:
        mach = _run("machine", n, machine_died_then_resume)
        rows.append(
            (
                f"every process of the run killed (a machine dying), resume ({n} trials, local 5-step "
                "pipeline, process-mode steps)",
                f"completed steps re-run: {sum(t.rerun for t in mach)} (of "
                f"{sum(t.completed_at_kill for t in mach)} completed at the kill); resumed runs completed: "
                f"{sum(t.run_completed for t in mach)}/{n}{_noted(mach)}",
            )
        )
    if "writers" in only:
        (w,) = _run("writers", 1, lambda root: busy_writers_killed(root, kills=args.kills))
        rows.append(
            (
                f"{w.kills} SIGKILLs of busy writers (SQLite; 3 Task.init scripts uploading 300 KB artifacts "
                "and reporting scalars)",
                f"integrity {w.integrity or '?'}, {w.artifacts - w.artifacts_bad:,}/{w.artifacts:,} "
                "artifacts "
                f"intact; left by the kills: {w.temporary_found} temporary files and {w.unreferenced_found} "
                f"unreferenced artifact files ({w.garbage_bytes / 1e6:.1f} MB), `store gc --dry-run` listed "
                f"{w.dry_run_listed}; after `taskmill store gc`: {w.temporary_left} temporary and "
                f"{w.unreferenced_left} unreferenced files left, live writer's files broken: "
                f"{w.live_writer_broken}{_noted([w])}",
            )
        )
        rows.append(
            (
                f"Task.init scripts kill -9 ({w.kills} scripts killed, same trial)",
                f"tasks Running after the next open of the store: {w.running_after_open} "
                f"({w.ended_by_lease} dead writers' tasks failed by the lease)",
            )
        )
    if "creation" in only:
        made = _run("creation", 20 * n, store_creation_killed)
        rows.append(
            (
                f"SIGKILL a process creating a new SQLite store, 0-0.4 s in ({len(made)} trials)",
                f"stores left unopenable: {sum(t.unopenable for t in made)} "
                f"(processes killed before they were done: {sum(t.kills for t in made)})",
            )
        )
    print("| fault | taskmill now |")
    print("|---|---|")
    for fault, figures in rows:
        print(f"| {fault} | {figures} |")


if __name__ == "__main__":
    main()
