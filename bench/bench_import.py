"""Start-up and per-step process figures: ``import taskmill``, a ``Task.init`` script, local steps.

Prints medians (and min) of:

* ``import taskmill``: a fresh ``python -c "import taskmill"``, timed whole, against bare ``python -c pass``;
* ``Task.init`` script: a fresh interpreter that runs ``Task.init`` and exits (store in a temp home);
* ``local step``: a ``--chain``-step linear pipeline with every step a local process (forked from
  the warm worker), wall divided by steps;
* ``sklearn step``: a ``--heavy``-step chain whose step function imports ``--heavy-module``
  (default ``sklearn.linear_model``) inside the function, wall divided by steps.

Asserts nothing; timings on a shared machine are noisy, so compare medians from one run.
Usage: python bench/bench_import.py [--repeat 7] [--chain 100] [--heavy 10] [--heavy-module M] [--only a,b]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

TASK_INIT = textwrap.dedent(
    """
    from taskmill import Task
    task = Task.init(project_name="bench", task_name="init")
    """
)

CHAIN = textwrap.dedent(
    """
    import sys, time
    from taskmill import PipelineController

    def step(x: int) -> int:
        return x + 1

    def heavy(x: int) -> int:
        import importlib
        importlib.import_module({module!r})
        return x + 1

    n, kind = int(sys.argv[1]), sys.argv[2]
    fn = heavy if kind == "heavy" else step
    p = PipelineController(name="bench-" + kind, project="bench")
    p.add_function_step("s0", fn, function_kwargs={{"x": 0}}, function_return="r")
    for i in range(1, n):
        p.add_function_step(f"s{{i}}", fn, function_kwargs={{"x": f"${{{{s{{i-1}}.r}}}}"}},
                            function_return="r", parents=[f"s{{i-1}}"])
    t0 = time.perf_counter()
    p.start_locally(run_pipeline_steps_locally=True, progress=False)
    wall = time.perf_counter() - t0
    assert p.is_successful(), "pipeline failed"
    print(f"WALL {{wall}}")
    """
)


#: bytecode as an installed package has it (this checkout's environment may set
#: PYTHONDONTWRITEBYTECODE, which makes every start compile taskmill from source)
PYCACHE = tempfile.mkdtemp(prefix="tm-bench-pyc-")


def base_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("TASKMILL_LAUNCHER", None)
    env["PYTHONPYCACHEPREFIX"] = PYCACHE
    return env


def fresh_env() -> dict[str, str]:
    return {**base_env(), "TASKMILL_HOME": tempfile.mkdtemp(prefix="tm-bench-import-")}


def timed(cmd: list[str], env: dict[str, str] | None = None, cwd: str | None = None) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one run of ``cmd``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env=env or base_env(), cwd=cwd, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def runs(
    n: int, cmd: list[str], env: dict[str, str] | None = None, cwd: str | None = None
) -> list[tuple[float, float]]:
    timed(cmd, env, cwd)  # untimed: writes the bytecode (and the store, for Task.init)
    return [timed(cmd, env, cwd) for _ in range(n)]


def show(label: str, samples: list[tuple[float, float]]) -> None:
    wall = [w * 1000 for w, _ in samples]
    cpu = [c * 1000 for _, c in samples]
    print(
        f"  {label:<40} wall median {statistics.median(wall):7.1f} ms (min {min(wall):6.1f})"
        f"   cpu median {statistics.median(cpu):7.1f} ms   (n={len(samples)})"
    )


def show_per_step(label: str, seconds: list[float], unit: float, suffix: str) -> None:
    vals = [s * unit for s in seconds]
    print(
        f"  {label:<40} median {statistics.median(vals):8.2f} {suffix}"
        f"   min {min(vals):8.2f} {suffix}  (n={len(vals)})"
    )


def chain_wall(n: int, kind: str, module: str, folder: str) -> float:
    script = os.path.join(folder, f"chain_{kind}.py")
    with open(script, "w") as f:
        f.write(CHAIN.format(module=module))
    out = subprocess.run(
        [sys.executable, script, str(n), kind],
        check=True,
        env=fresh_env(),
        cwd=folder,
        capture_output=True,
        text=True,
    )
    if out.stderr.strip():
        print(out.stderr.strip()[-2000:], file=sys.stderr)
    line = [ln for ln in out.stdout.splitlines() if ln.startswith("WALL ")][-1]
    return float(line.split()[1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--chain", type=int, default=100)
    parser.add_argument("--heavy", type=int, default=10)
    parser.add_argument("--heavy-module", default="sklearn.linear_model")
    parser.add_argument("--only", default="python,import,init,local,heavy")
    args = parser.parse_args()
    only = set(args.only.split(","))
    py = sys.executable
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus; medians of {args.repeat}")
    if "python" in only:
        show("bare python -c pass", runs(args.repeat, [py, "-c", "pass"]))
    if "import" in only:
        show("python -c 'import taskmill'", runs(args.repeat, [py, "-c", "import taskmill"]))
        show(
            "python -c 'from taskmill import Task'",
            runs(args.repeat, [py, "-c", "from taskmill import Task"]),
        )
    with tempfile.TemporaryDirectory() as folder:
        if "init" in only:
            script = os.path.join(folder, "init.py")
            with open(script, "w") as f:
                f.write(TASK_INIT)
            env = fresh_env()
            show("Task.init script (whole process)", runs(args.repeat, [py, script], env, folder))
            with open(script, "w") as f:
                f.write(
                    TASK_INIT.replace('task_name="init"', 'task_name="init", auto_connect_frameworks=False')
                )
            show("  ... auto_connect_frameworks=False", runs(args.repeat, [py, script], env, folder))
        chains = max(1, args.repeat // 3)
        if "local" in only:
            walls = [chain_wall(args.chain, "light", args.heavy_module, folder) for _ in range(chains)]
            show_per_step(
                f"local step ({args.chain}-step chain, wall/N)", [w / args.chain for w in walls], 1000.0, "ms"
            )
        if "heavy" in only:
            walls = [chain_wall(args.heavy, "heavy", args.heavy_module, folder) for _ in range(chains)]
            show_per_step(
                f"{args.heavy_module} step ({args.heavy}-step chain)",
                [w / args.heavy for w in walls],
                1.0,
                "s ",
            )


if __name__ == "__main__":
    main()
