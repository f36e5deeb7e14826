"""Launcher figures: the same pipeline on the process, Dask and Ray launchers, side by side.

The pipeline: ``--width`` parallel function steps (each sleeps ``--sleep`` s) and one fan-in step
taking all their outputs. For each launcher, one run in a fresh TASKMILL_HOME (SQLite store):

* ``wall``: ``start_locally`` to its return (cluster start and shutdown included);
* ``steps``: first step launched to last step ended (the pipeline itself);
* ``launch``: per-step launch overhead, median and max: from the scheduler launching the step to
  its task entering ``in_progress`` (the step process started and attached to its task).

A launcher whose package is missing is reported as skipped. Slurm is not here: its glue agent
serves queues (``python -m taskmill.agent.slurm_glue``), it is not a launcher; see
tests/agent/test_slurm_glue.py for its timing on a single-node cluster.
Usage: python bench/bench_launchers.py [--width 6] [--sleep 0.5] [--launchers process,dask,ray]
                                       [--steps N]  (N > 0: N parallel steps instead of --width)
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from taskmill import PipelineController
from taskmill.api.session import PROCESS

NEEDS = {"process": None, "dask": "distributed", "ray": "ray"}


def work(i: int, seconds: float) -> int:
    import time as _time

    _time.sleep(seconds)
    return i


def fan_in(**parts: int) -> int:
    return sum(parts.values())


def run(launcher: str, width: int, sleep: float) -> dict[str, float] | str:
    if NEEDS[launcher] and importlib.util.find_spec(NEEDS[launcher]) is None:
        return f"skipped ({NEEDS[launcher]} is not installed)"
    os.environ["TASKMILL_HOME"] = tempfile.mkdtemp(prefix=f"tm-bench-{launcher}-")
    os.environ["TASKMILL_LAUNCHER"] = launcher
    PROCESS.reset()
    p = PipelineController(name=f"bench-{launcher}", project="bench", max_parallel=width)
    for i in range(width):
        p.add_function_step(f"w{i}", work, function_kwargs={"i": i, "seconds": sleep}, function_return="r")
    p.add_function_step(
        "fan_in", fan_in, function_kwargs={f"p{i}": f"${{w{i}.r}}" for i in range(width)}, function_return="r"
    )
    started = time.perf_counter()
    p.start_locally(run_pipeline_steps_locally=True, progress=False)
    wall = time.perf_counter() - started
    store = PROCESS.session().store
    dag = p.get_pipeline_dag()
    if not p.is_successful():
        return "failed: " + ", ".join(f"{n}={d.status.value}" for n, d in dag.items())
    overhead = []
    for node in dag.values():
        rec = store.get_task(str(node.executed))
        assert node.job_started is not None and rec.started is not None
        overhead.append(rec.started - node.job_started)
    first = min(n.job_started for n in dag.values() if n.job_started)
    last = max(n.job_ended for n in dag.values() if n.job_ended)
    return {
        "wall": wall,
        "steps": last - first,
        "launch_median": statistics.median(overhead),
        "launch_max": max(overhead),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--width", type=int, default=6)
    parser.add_argument("--sleep", type=float, default=0.5)
    parser.add_argument("--steps", type=int, default=0)
    parser.add_argument("--launchers", default="process,dask,ray")
    args = parser.parse_args()
    width = args.steps or args.width
    print(f"{width} parallel steps ({args.sleep} s each) + fan-in, SQLite store, {os.cpu_count()} CPUs")
    print(f"{'launcher':<9} {'wall s':>7} {'steps s':>8} {'launch median ms':>17} {'launch max ms':>14}")
    for launcher in args.launchers.split(","):
        result = run(launcher, width, args.sleep)
        if isinstance(result, str):
            print(f"{launcher:<9} {result}")
            continue
        print(
            f"{launcher:<9} {result['wall']:>7.2f} {result['steps']:>8.2f} "
            f"{result['launch_median'] * 1000:>17.0f} {result['launch_max'] * 1000:>14.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
