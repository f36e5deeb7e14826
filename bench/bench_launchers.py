"""Launcher figures: the same pipeline on the process, Dask, Ray and Slurm launchers, side by side.

The pipeline: ``--width`` parallel function steps (each sleeps ``--sleep`` s) and one fan-in step
taking all their outputs. For each launcher, one run in a fresh TASKMILL_HOME (SQLite store):

* ``wall``: ``start_locally`` to its return (cluster start and shutdown included);
* ``steps``: first step launched to last step ended (the pipeline itself);
* ``launch``: per-step launch overhead, median and max: from the step's task being created (the
  instant before the launcher is handed it) to its task entering ``in_progress`` (the step
  process started and attached to its task; a glue agent marks it when it claims the task);
* ``step``: per-step overhead, median: created to completed, less the step's own work (the
  sleep), i.e. launch, process start, recording the end, and any wait for a free slot.

A launcher whose package is missing is reported as skipped. ``slurm`` is the Slurm glue agent
(``taskmill agent --backend slurm``) on a real single-node Slurm started for the run inside a
private network namespace, as tests/agent/test_slurm_glue.py starts it (skipped where that test
is); the steps go to its queue and each becomes an ``sbatch`` job running
``taskmill agent execute``. Its ``wall`` leaves the cluster's start out (the glue serves before
the run starts) and ``launch`` includes sbatch, Slurm's scheduling and the job's start.

Then ``--scale`` parallel steps (default 100; 0: none) on the ``--scale-launchers`` (dask, ray).
Usage: python bench/bench_launchers.py [--width 6] [--sleep 0.5] [--launchers process,dask,ray,slurm]
                                       [--steps N]  (N > 0: N parallel steps instead of --width)
                                       [--scale 100] [--scale-launchers dask,ray]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/agent/test_slurm_glue.py

from taskmill import PipelineController
from taskmill.api.session import PROCESS

NEEDS = {"process": None, "dask": "distributed", "ray": "ray", "slurm": None}


def work(i: int, seconds: float) -> int:
    import time as _time

    _time.sleep(seconds)
    return i


def fan_in(**parts: int) -> int:
    return sum(parts.values())


def run(launcher: str, width: int, sleep: float) -> dict[str, float] | str:
    if NEEDS[launcher] and importlib.util.find_spec(NEEDS[launcher]) is None:
        return f"skipped ({NEEDS[launcher]} is not installed)"
    home = tempfile.mkdtemp(prefix=f"tm-bench-{launcher}-")
    os.environ["TASKMILL_HOME"] = home
    os.environ.pop("TASKMILL_STORE", None)
    PROCESS.reset()
    if launcher != "slurm":
        os.environ["TASKMILL_LAUNCHER"] = launcher
        return run_pipeline(launcher, width, sleep, on_queue=False)
    os.environ.pop("TASKMILL_LAUNCHER", None)
    from tests.agent.test_slurm_glue import _can_run_slurm

    why = _can_run_slurm()
    if why is not None:
        return f"skipped ({why})"
    with slurm_glue(Path(home), PROCESS.session().store.url):
        return run_pipeline(launcher, width, sleep, on_queue=True)


@contextlib.contextmanager
def slurm_glue(home: Path, store_url: str) -> Iterator[None]:
    """A single-node Slurm in a private network namespace and the glue agent serving ``default``
    on it, until the block ends (blocking until the glue has claimed its queue)."""
    from tests.agent.test_slurm_glue import CLUSTER

    script = home / "cluster.sh"
    script.write_text(CLUSTER)
    template = home / "job.sbatch"
    template.write_text("#!/bin/bash\n#SBATCH --cpus-per-task=1\n{{command}}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKMILL_")}
    env |= {"TASKMILL_HOME": str(home), "TASKMILL_STORE": store_url}
    taskmill = str(Path(sys.executable).parent / "taskmill")
    log = (home / "glue.log").open("w")
    glue = subprocess.Popen(
        [
            *("unshare", "--net", "bash", str(script), str(home / "slurm")),
            *(taskmill, "agent", "-q", "default", "--backend", "slurm"),
            *("--template", str(template), "--heartbeat", "0.3"),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    store = PROCESS.session().store
    try:
        deadline = time.monotonic() + 60
        while not any(w for w in store.list_workers()) and glue.poll() is None:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the Slurm glue did not start; see {home / 'glue.log'}")
            time.sleep(0.1)
        yield
    finally:
        glue.terminate()  # the cluster script stops its daemons on the way out
        with contextlib.suppress(subprocess.TimeoutExpired):
            glue.wait(30)
        if glue.poll() is None:
            glue.kill()
        log.close()


def run_pipeline(launcher: str, width: int, sleep: float, *, on_queue: bool) -> dict[str, float] | str:
    """One run of the pipeline (steps on the launcher set, or on queue ``default``)."""
    p = PipelineController(name=f"bench-{launcher}", project="bench", max_parallel=width)
    if on_queue:
        p.set_default_execution_queue("default")
    for i in range(width):
        p.add_function_step(f"w{i}", work, function_kwargs={"i": i, "seconds": sleep}, function_return="r")
    p.add_function_step(
        "fan_in", fan_in, function_kwargs={f"p{i}": f"${{w{i}.r}}" for i in range(width)}, function_return="r"
    )
    started = time.perf_counter()
    p.start_locally(run_pipeline_steps_locally=not on_queue, progress=False)
    wall = time.perf_counter() - started
    store = PROCESS.session().store
    dag = p.get_pipeline_dag()
    if not p.is_successful():
        return "failed: " + ", ".join(f"{n}={d.status.value}" for n, d in dag.items())
    overhead = []
    created = []
    whole = []
    for name, node in dag.items():
        rec = store.get_task(str(node.executed))
        assert rec.created and rec.started is not None and rec.completed is not None
        overhead.append(rec.started - rec.created)
        created.append(rec.created)
        whole.append(rec.completed - rec.created - (0.0 if name == "fan_in" else sleep))
    first = min(created)
    last = max(n.job_ended for n in dag.values() if n.job_ended)
    return {
        "wall": wall,
        "steps": last - first,
        "launch_median": statistics.median(overhead),
        "launch_max": max(overhead),
        "step_median": statistics.median(whole),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--width", type=int, default=6)
    parser.add_argument("--sleep", type=float, default=0.5)
    parser.add_argument("--steps", type=int, default=0)
    parser.add_argument("--launchers", default="process,dask,ray,slurm")
    parser.add_argument("--scale", type=int, default=100)
    parser.add_argument("--scale-launchers", default="dask,ray")
    args = parser.parse_args()
    table(args.steps or args.width, args.sleep, args.launchers.split(","))
    if args.scale:
        print()
        table(args.scale, args.sleep, args.scale_launchers.split(","))


def table(width: int, sleep: float, launchers: list[str]) -> None:
    print(f"{width} parallel steps ({sleep} s each) + fan-in, SQLite store, {os.cpu_count()} CPUs")
    print(
        f"{'launcher':<9} {'wall s':>7} {'steps s':>8} {'launch median ms':>17} {'launch max ms':>14}"
        f" {'step median ms':>15}"
    )
    for launcher in launchers:
        result = run(launcher, width, sleep)
        if isinstance(result, str):
            print(f"{launcher:<9} {result}")
            continue
        print(
            f"{launcher:<9} {result['wall']:>7.2f} {result['steps']:>8.2f} "
            f"{result['launch_median'] * 1000:>17.0f} {result['launch_max'] * 1000:>14.0f}"
            f" {result['step_median'] * 1000:>15.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
