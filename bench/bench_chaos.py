"""Chaos bench: N trials per fault with real processes; prints the issue-11 table with our figures.

Usage: ``python bench/bench_chaos.py [N] [--outage S ...]`` (defaults: N=3, outages 20 and 75 s).
Blocking; each trial runs in a fresh temporary folder (its own store, server and agents).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout: tests.chaos

from tests.chaos.faults import Trial, agent_killed_no_peer, controller_killed, server_outage


def _run(name: str, trials: int, fault: Callable[[Path], Trial]) -> list[Trial]:
    seen = []
    for i in range(trials):
        with tempfile.TemporaryDirectory(prefix="taskmill-chaos-") as tmp:
            started = time.monotonic()
            trial = fault(Path(tmp))
            print(f"  {name} #{i + 1}: {trial} ({time.monotonic() - started:.0f} s)", file=sys.stderr)
            seen.append(trial)
    return seen


def main() -> None:
    """Run the trials and print the table (markdown)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("trials", nargs="?", type=int, default=3)
    parser.add_argument("--outage", type=float, action="append", default=None)
    args = parser.parse_args()
    n = args.trials
    rows: list[tuple[str, str]] = []

    ctl = _run("controller", n, controller_killed)
    rows.append(
        (
            f"SIGKILL the controller's process group, process-mode steps ({n} trials)",
            f"orphan step processes: {sum(t.orphans for t in ctl)}; side effects after the kill: "
            f"{sum(t.side_effects_after_kill for t in ctl)}",
        )
    )
    agent = _run("agent", n, agent_killed_no_peer)
    detect = [t.detect_seconds for t in agent if t.detect_seconds is not None]
    rows.append(
        (
            f"SIGKILL an agent mid-step, no other agent alive, server dead-after 2 s ({n} trials)",
            f"tasks Running forever: {sum(t.running_forever for t in agent)}; orphan step processes: "
            f"{sum(t.orphans for t in agent)}; zombie side effects: "
            f"{sum(t.side_effects_after_kill for t in agent)}; detection "
            + (f"{min(detect):.1f}-{max(detect):.1f} s" if detect else "never"),
        )
    )
    for outage in args.outage or [20.0, 75.0]:
        runs = _run(f"outage {outage:.0f}s", n, lambda root, o=outage: server_outage(root, outage=o))
        rows.append(
            (
                f"server SIGKILLed, down {outage:.0f} s mid-run, 2 agents ({n} trials)",
                f"runs with a failed step: {sum(bool(t.failed_by_outage) for t in runs)}/{n}; "
                f"tasks Running forever: {sum(t.running_forever for t in runs)}",
            )
        )
    print("| fault | taskmill now |")
    print("|---|---|")
    for fault, figures in rows:
        print(f"| {fault} | {figures} |")


if __name__ == "__main__":
    main()
