"""taskmill side by side with ClearML, Prefect, Dagster and Hamilton (prints one table; asserts
only that every run gave the right answer, else its cell says n/a).

The same workloads (see ``bench/peers/_common.py``) run in every framework's modes and ours:

* a ``--chain``-step chain (default 10), a fan-out of N steps plus a gather for each N in
  ``--fanout`` (default 100,1000), a ``--gib`` GiB numpy array producer -> consumer (default 1);
* the floor: plain Python calls (in-process modes are compared with it) and a plain fork per step
  (process modes are compared with it);
* taskmill ``debug`` (tracked calls in-process), ``local`` (a process per step) and ``agent``
  (a real ``taskmill server`` and ``taskmill agent``; the controller runs in the child);
* ClearML's ``debug_pipeline()`` and ``run_locally()`` (offline, ``CLEARML_OFFLINE_MODE=1``,
  in-thread reporter: see ``CLEARML_CONF``),
  Prefect's ``@flow``/``@task`` against one ``prefect server start`` for the invocation (without
  one, every fresh process starts a temporary server: 20-40 s here), Dagster's
  ``execute_in_process``, Hamilton's driver.

The peers are installed from the package registry into side venvs under ``--venvs`` (default
``~/.cache/taskmill-bench-peers``; reused when already there), with ``uv`` when it is on the
machine, else ``python -m venv`` + pip. Every run is a fresh subprocess (per framework, workload
and repetition) in a fresh folder; a cell is the median of ``--k`` runs:

* ``wall``: the child from spawn to exit (interpreter, imports, run, exit), measured here;
* ``run``: the timed part inside the child (building and running the pipeline, after imports);
* ``per step``: run / steps; ``peak MB``: the child's ``ru_maxrss`` from ``wait4`` (the maximum
  over it and the processes it waited for; for ``agent`` the steps run in the agent, not counted);
* ``x floor``: wall and run divided by the floor's (calls for in-process modes, fork for process
  modes), from the same invocation.

A framework that fails to install, fails, times out (``--timeout``) or gives a wrong answer shows
``n/a (reason)``; the table is printed anyway. Logs of every run go to a temporary folder whose
path is printed.

Usage: python bench/bench_peers.py [--quick] [--k 3] [--chain 10] [--fanout 100,1000] [--gib 1]
                                   [--only NAME ...] [--venvs DIR] [--timeout 300]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
PEERS = HERE / "peers"
sys.path.insert(0, str(PEERS))
from _common import expected, steps  # noqa: E402

BIN = Path(sys.executable).parent
TASKMILL = str(BIN / "taskmill")
GIB = 1 << 30

# side venv name -> what to install into it (numpy for the array workload)
PACKAGES = {
    "clearml": ["clearml==2.1.12", "numpy"],
    "prefect": ["prefect", "numpy"],
    "dagster": ["dagster", "numpy"],
    "hamilton": ["sf-hamilton", "numpy"],
}
# ClearML's default on Linux reports through a subprocess whose flush waits in 1 s slices: in
# offline mode that adds 1-3 s per step (a 100-step fan-out took 305 s); the in-thread reporter
# is the documented alternative and what a user tuning it would pick.
CLEARML_CONF = (
    "sdk {{ development {{ report_use_subprocess: false }},"
    " storage {{ cache {{ default_base_dir: {} }} }} }}\n"
)


@dataclass
class Framework:
    """One column of the comparison: a workload script run in one of its modes."""

    label: str
    venv: str | None  # a side venv name, None = this venv
    script: str
    mode: str
    in_process: bool
    env: dict[str, str] = field(default_factory=dict)
    broken: str | None = None  # why every cell is n/a


@dataclass
class Outcome:
    wall: float = 0.0
    run: float = 0.0
    rss_mb: float = 0.0
    error: str | None = None


FRAMEWORKS = [
    Framework("floor: Python calls", None, "floor_wl.py", "call", True),
    Framework("floor: fork per step", None, "floor_wl.py", "fork", False),
    Framework("taskmill debug", None, "taskmill_wl.py", "debug", True),
    Framework("taskmill local", None, "taskmill_wl.py", "local", False),
    Framework("taskmill agent", None, "taskmill_wl.py", "agent", False),
    Framework("ClearML debug_pipeline", "clearml", "clearml_wl.py", "debug", True),
    Framework("ClearML run_locally", "clearml", "clearml_wl.py", "local", False),
    Framework("Prefect flow/tasks (server)", "prefect", "prefect_wl.py", "flow", True),
    Framework("Dagster execute_in_process", "dagster", "dagster_wl.py", "in_process", True),
    Framework("Hamilton driver", "hamilton", "hamilton_wl.py", "driver", True),
]


# -- side venvs ------------------------------------------------------------------------------------


def venv_python(venvs: Path, name: str) -> Path:
    return venvs / name / "bin" / "python"


def install(venvs: Path, name: str, log: Path) -> str | None:
    """Make the side venv ``name`` with its packages unless it is already there; the reason of a
    failure, else None. Idempotent (a marker file names what was installed)."""
    specs = PACKAGES[name]
    marker = venvs / name / ".taskmill-bench-installed"
    if marker.exists() and marker.read_text() == " ".join(specs):
        return None
    uv = shutil.which("uv") or (str(BIN / "uv") if (BIN / "uv").exists() else None)
    target = venvs / name
    py = venv_python(venvs, name)
    if uv:
        steps_ = [
            [uv, "venv", "-q", "--allow-existing", "--python", sys.executable, str(target)],
            [uv, "pip", "install", "-q", "--python", str(py), *specs],
        ]
    else:
        steps_ = [
            [sys.executable, "-m", "venv", str(target)],
            [str(py), "-m", "pip", "install", "-q", *specs],
        ]
    with log.open("ab") as out:
        for argv in steps_:
            try:
                code = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, timeout=1800).returncode
            except (OSError, subprocess.TimeoutExpired) as exc:
                return f"install: {exc}"[:70]
            if code != 0:
                tail = log.read_text(errors="replace").strip().splitlines()[-1:] or ["?"]
                return f"install failed: {tail[0]}"[:70]
    marker.write_text(" ".join(specs))
    return None


# -- one run -------------------------------------------------------------------------------------


def run_child(argv: list[str], env: dict[str, str], cwd: Path, log: Path, timeout: float) -> Outcome:
    """Run ``argv`` as a fresh process (its own session, so a timeout kills its children too);
    its output in ``log``."""
    with log.open("wb") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(
            argv, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    wall = time.perf_counter() - started
                    break
                if time.perf_counter() - started > timeout:
                    os.killpg(proc.pid, signal.SIGKILL)
                    os.wait4(proc.pid, 0)
                    return Outcome(error=f"timed out > {timeout:.0f} s")
                time.sleep(0.005)
        except BaseException:  # Ctrl-C: leave no run behind
            os.killpg(proc.pid, signal.SIGKILL)
            os.wait4(proc.pid, 0)
            raise
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4: stop Popen asking
    text = log.read_text(errors="replace")
    found = [ln for ln in text.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not found:
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        return Outcome(error=reason(lines, proc.returncode))
    result = json.loads(found[-1][len("RESULT ") :])
    return Outcome(wall=wall, run=float(result["run"]), rss_mb=usage.ru_maxrss / 1024)


def reason(lines: list[str], code: int) -> str:
    """A short reason for a failed run, from its output: a pipeline's stated reason if there is
    one, else the first exception line (the cause, when one exception led to others), else the
    last line."""
    said = [ln.split("reason:", 1)[1].strip() for ln in lines if ln.startswith("reason:")]
    raised = [ln for ln in lines if re.match(r"^[\w.]+(Error|Exception|Exit)\b", ln)]
    return (said or raised[:1] or lines[-1:] or [f"exit {code}"])[0][:70]


def check(outcome: Outcome, log: Path, workload: str, size: int) -> Outcome:
    if outcome.error is None:
        line = [ln for ln in log.read_text(errors="replace").splitlines() if ln.startswith("RESULT ")][-1]
        got = json.loads(line[len("RESULT ") :])["check"]
        if abs(got - expected(workload, size)) > 1e-6:
            return Outcome(error=f"wrong answer {got} (expected {expected(workload, size)})")
    return outcome


# -- taskmill's server and agent -----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, proc: subprocess.Popen[bytes], seconds: float) -> bool:
    """Whether ``url`` answered 200 within ``seconds`` while ``proc`` kept running."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


class PrefectServer:
    """One ``prefect server start`` for the invocation, so that each run measures the flow and
    its tasks, not the temporary server Prefect starts in every fresh process that has no
    ``PREFECT_API_URL`` (20-40 s here); ``stop()`` ends it."""

    def __init__(self, python: str, env: dict[str, str], logs: Path) -> None:
        port = free_port()
        self.api = f"http://127.0.0.1:{port}/api"
        self.log = (logs / "prefect-server.log").open("wb")
        prefect = str(Path(python).parent / "prefect")
        self.proc = subprocess.Popen(
            [prefect, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if not wait_http(f"{self.api}/health", self.proc, 240):
            self.stop()
            raise RuntimeError("prefect server did not come up within 240 s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


class AgentSetup:
    """A ``taskmill server`` (over SQLite) and one ``taskmill agent`` serving the ``peers`` queue,
    for the whole invocation; ``stop()`` ends both (idempotent)."""

    def __init__(self, home: Path, logs: Path) -> None:
        self.home = home
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        base = {k: v for k, v in os.environ.items() if not k.startswith("TASKMILL_")}
        self.env = {**base, "TASKMILL_HOME": str(home), "TASKMILL_STORE": self.url}
        store = f"sqlite:///{home / 'store.db'}"
        self.procs: list[subprocess.Popen[bytes]] = []
        self.logs = [(logs / "server.log").open("wb"), (logs / "agent.log").open("wb")]
        self.procs.append(
            subprocess.Popen(
                [TASKMILL, "server", "--port", str(port), "--no-auth", "--store", store],
                env={**base, "TASKMILL_HOME": str(home)},
                stdout=self.logs[0],
                stderr=subprocess.STDOUT,
            )
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/api/v1/health", timeout=1) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline or self.procs[0].poll() is not None:
                self.stop()
                raise RuntimeError("taskmill server did not come up within 60 s")
            time.sleep(0.05)
        subprocess.run([TASKMILL, "queues", "create", "peers"], env=self.env, check=True, capture_output=True)
        self.procs.append(
            subprocess.Popen(
                [TASKMILL, "agent", "--queue", "peers"],
                env=self.env,
                stdout=self.logs[1],
                stderr=subprocess.STDOUT,
            )
        )
        time.sleep(3.0)  # let the agent register and start its warm worker (not a per-run cost)
        if self.procs[1].poll() is not None:
            self.stop()
            raise RuntimeError("taskmill agent exited at start")

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for f in self.logs:
            f.close()
        self.procs = []


# -- the driver ---------------------------------------------------------------------------------------


class Bench:
    """Runs every (workload, framework) ``k`` times and keeps the outcomes."""

    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args = args
        self.work = work
        self.logs = work / "logs"
        self.logs.mkdir()
        self.venvs = Path(args.venvs).expanduser()
        self.venvs.mkdir(parents=True, exist_ok=True)
        self.agent: AgentSetup | None = None
        self.prefect: PrefectServer | None = None
        self.counter = 0
        self.template = work / "taskmill-home"  # a store with its schema made once, copied per run
        self.prefect_home = work / "prefect-home"

    def python(self, fw: Framework) -> str:
        return str(venv_python(self.venvs, fw.venv)) if fw.venv else sys.executable

    def prepare(self, frameworks: list[Framework]) -> None:
        """Install the side venvs, warm what is made once per store (not a per-run cost)."""
        for name in sorted({fw.venv for fw in frameworks if fw.venv}):
            print(f"  side venv {name}: {' '.join(PACKAGES[name])} ...", flush=True)
            reason = install(self.venvs, name, self.logs / f"install-{name}.log")
            for fw in frameworks:
                if fw.venv == name and reason:
                    fw.broken = reason
        base = {
            k: v for k, v in os.environ.items() if not k.startswith(("TASKMILL_", "CLEARML_", "PREFECT_"))
        }
        self.base_env = base
        self.template.mkdir()
        subprocess.run(
            [sys.executable, "-c", "from taskmill.api.session import PROCESS; PROCESS.session().store"],
            env={**base, "TASKMILL_HOME": str(self.template)},
            check=True,
        )
        conf = self.work / "clearml.conf"
        conf.write_text(CLEARML_CONF.format(json.dumps(str(self.work / "clearml-cache"))))
        self.prefect_home.mkdir()
        for fw in frameworks:
            if fw.venv == "clearml":
                fw.env = {"CLEARML_OFFLINE_MODE": "1", "CLEARML_CONFIG_FILE": str(conf)}
            if fw.venv == "prefect":
                fw.env = {
                    "PREFECT_HOME": str(self.prefect_home),
                    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
                    "PREFECT_LOGGING_LEVEL": "WARNING",
                }
                if not fw.broken:
                    try:
                        self.prefect = PrefectServer(self.python(fw), {**base, **fw.env}, self.logs)
                    except (OSError, RuntimeError) as exc:
                        fw.broken = str(exc)[:70]
                if self.prefect:
                    fw.env["PREFECT_API_URL"] = self.prefect.api
                    warm = self.run(fw, "chain", 1)  # the flow registers once, not a per-run cost
                    if warm.error:
                        fw.broken = f"warm-up: {warm.error}"[:70]
            if fw.mode == "agent" and not fw.broken:
                try:
                    self.agent = AgentSetup(self.work / "agent-home", self.logs)
                except (RuntimeError, subprocess.CalledProcessError) as exc:
                    fw.broken = str(exc)[:70]

    def run(self, fw: Framework, workload: str, size: int) -> Outcome:
        self.counter += 1
        rundir = self.work / f"run{self.counter}"
        env = {**self.base_env, **fw.env}
        if fw.script == "taskmill_wl.py":
            if fw.mode == "agent":
                assert self.agent is not None
                env = {**env, **self.agent.env}
                rundir.mkdir()
            else:
                shutil.copytree(self.template, rundir)
                env["TASKMILL_HOME"] = str(rundir)
        else:
            rundir.mkdir()
        log = self.logs / f"{self.counter:04d}-{fw.script[:-6]}-{fw.mode}-{workload}{size}.log"
        argv = [self.python(fw), str(PEERS / fw.script), fw.mode, workload, str(size)]
        try:
            outcome = check(run_child(argv, env, rundir, log, self.args.timeout), log, workload, size)
        finally:
            shutil.rmtree(rundir, ignore_errors=True)  # a GiB-sized store per array run
        return outcome

    def cell(self, fw: Framework, workload: str, size: int) -> list[Outcome]:
        if fw.broken:
            return [Outcome(error=fw.broken)]
        outs: list[Outcome] = []
        for _ in range(self.args.k):
            out = self.run(fw, workload, size)
            outs.append(out)
            if out.error:
                return [out]
        return outs


def median(outs: list[Outcome], attr: str) -> float:
    return statistics.median(getattr(o, attr) for o in outs)


def fmt_s(s: float) -> str:
    return f"{s:.2f}" if s >= 0.1 else f"{s:.4f}"


def fmt_ms(ms: float) -> str:
    return f"{ms:.1f}" if ms >= 1 else f"{ms:.3f}"


def table(results: dict[tuple[str, int], dict[str, list[Outcome]]], frameworks: list[Framework]) -> str:
    rows = [
        "| workload | framework, mode | wall s | run s | per step ms | peak MB "
        "| wall x floor | run x floor |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for (workload, size), cells in results.items():
        name = (
            f"{size}-step chain"
            if workload == "chain"
            else (f"fan-out {size} + gather" if workload == "fanout" else f"{size / GIB:g} GiB array")
        )
        floors = {True: cells.get("floor: Python calls"), False: cells.get("floor: fork per step")}
        for fw in frameworks:
            outs = cells.get(fw.label) or [Outcome(error="not run: interrupted")]
            if outs[0].error:
                rows.append(f"| {name} | {fw.label} | n/a ({outs[0].error.replace('|', '/')}) | | | | | |")
                continue
            wall, run, rss = median(outs, "wall"), median(outs, "run"), median(outs, "rss_mb")
            per = run / steps(workload, size) * 1000
            floor = floors[fw.in_process]
            if floor and not floor[0].error and not fw.label.startswith("floor"):
                fw_wall, fw_run = median(floor, "wall"), median(floor, "run")
                x_wall = f"{wall / fw_wall:.3g}"
                x_run = f"{run / fw_run:.3g}" if fw_run > 0 else "-"
            else:
                x_wall = x_run = "1" if fw.label.startswith("floor") else "-"
            rss_s = f"{rss:.0f}" + (" (controller)" if fw.mode == "agent" else "")
            rows.append(
                f"| {name} | {fw.label} | {fmt_s(wall)} | {fmt_s(run)} | {fmt_ms(per)} | {rss_s} "
                f"| {x_wall} | {x_run} |"
            )
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes, k=1: chain 10, fan-out 20, 64 MiB")
    ap.add_argument("--k", type=int, default=3, help="runs per cell (median)")
    ap.add_argument("--chain", type=int, default=10)
    ap.add_argument("--fanout", default="100,1000", help="fan-out sizes, comma-separated")
    ap.add_argument("--gib", type=float, default=1.0, help="array size in GiB")
    ap.add_argument("--only", nargs="*", help="frameworks whose label contains one of these words")
    ap.add_argument("--venvs", default="~/.cache/taskmill-bench-peers", help="where the side venvs live")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds per run before it counts as n/a")
    args = ap.parse_args()
    if args.quick:
        args.k, args.fanout, args.gib = 1, "20", 1 / 16
    frameworks = [
        fw
        for fw in FRAMEWORKS
        if fw.label.startswith("floor")
        or not args.only
        or any(w.lower() in fw.label.lower() for w in args.only)
    ]
    work = Path(tempfile.mkdtemp(prefix="tm-bench-peers-"))
    bench = Bench(args, work)
    print(f"work folder (logs): {work}", flush=True)
    workloads = [("chain", args.chain)] + [("fanout", int(n)) for n in args.fanout.split(",") if n]
    workloads.append(("array", int(args.gib * GIB)))
    results: dict[tuple[str, int], dict[str, list[Outcome]]] = {}
    try:
        bench.prepare(frameworks)
        for workload, size in workloads:
            results[(workload, size)] = {}
            for fw in frameworks:
                earlier = [
                    results[w][fw.label] for w in results if w[0] == workload and w != (workload, size)
                ]
                if earlier and earlier[-1][0].error and "timed out" in (earlier[-1][0].error or ""):
                    outs = [Outcome(error="skipped: timed out at a smaller size")]
                else:
                    print(f"  {workload} {size}: {fw.label} ...", flush=True)
                    outs = bench.cell(fw, workload, size)
                results[(workload, size)][fw.label] = outs
    except KeyboardInterrupt:
        print("interrupted: the table has what ran so far", flush=True)
    finally:
        if bench.agent:
            bench.agent.stop()
        if bench.prefect:
            bench.prefect.stop()
        for path in work.iterdir():
            if path.name != "logs":
                shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink()
    print()
    print(
        f"Medians of k={args.k} runs, each a fresh subprocess; {os.cpu_count()} cores; "
        f"x floor: in-process modes vs Python calls, process modes vs a fork per step."
    )
    print(table(results, frameworks))
    print(f"\nlogs: {bench.logs}")


if __name__ == "__main__":
    os.environ.pop("TASKMILL_TASK_ID", None)
    main()
