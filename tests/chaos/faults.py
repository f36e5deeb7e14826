"""Faults with real processes, shared by the chaos tests and ``bench/bench_chaos.py``.

Each function runs one trial of one fault from scratch in a folder of its own and returns what
was observed (a :class:`Trial`), never asserting: the tests assert on few trials, the bench
counts many.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from taskmill.core.model import ScriptInfo, TaskRecord, new_id
from taskmill.core.states import TaskStatus
from taskmill.store.base import TaskStore
from taskmill.store.factory import open_store
from tests.store.procs import TASKMILL, cli_env, server_process

#: seconds a step sleeps before its side effect
SLEEP = 3.0

STEP = f"""
import os, sys, time
from pathlib import Path
from taskmill import Task
task = Task.init(project_name="chaos", task_name="slow")
work = Path(task.connect({{"work": "", "sleep": {SLEEP}}})["work"])
(work / f"pid-{{os.getpid()}}").touch()
time.sleep(float(task.get_parameters()["General/sleep"]))
(work / f"side-effect-{{os.getpid()}}").touch()
"""


@dataclass
class Trial:
    """What one trial saw."""

    orphans: int = 0  #: step processes alive after the kill settled
    side_effects_after_kill: int = 0  #: side effects written by processes that should be dead
    running_forever: int = 0  #: tasks still in_progress long after their agent died
    failed_by_outage: int = 0  #: tasks failed although only the server was down
    detect_seconds: float | None = None  #: how long until a dead agent's task failed
    notes: list[str] = field(default_factory=list)


def alive(pid: int) -> bool:
    """Whether ``pid`` is a live (not zombie) process, from /proc."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def wait_until(check: Callable[[], object], timeout: float) -> bool:
    """Poll ``check`` every 50 ms; whether it became truthy within ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def step_task(store: TaskStore, work: Path, script: Path, sleep: float = SLEEP) -> str:
    """A queued task running ``script`` (``STEP``) with its parameters."""
    from taskmill.core.model import Param

    rec = store.create_task(
        TaskRecord(
            id=new_id(),
            name="slow",
            project="chaos",
            script=ScriptInfo(entry_point=str(script), working_dir=str(script.parent)),
        )
    )
    store.set_params(rec.id, [Param("General", "work", str(work)), Param("General", "sleep", sleep)])
    store.enqueue(rec.id, "default")
    return rec.id


def start_agent(home: Path, store_url: str, *args: str, log: Path) -> subprocess.Popen[bytes]:
    """``taskmill agent -q default ARGS`` in a session of its own (so its group can be killed)."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [TASKMILL, "agent", "-q", "default", *args],
            env=cli_env(home, {"TASKMILL_STORE": store_url}),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _settle(work: Path) -> tuple[int, int]:
    pids = [int(p.name.split("-")[1]) for p in work.glob("pid-*")]
    wait_until(lambda: not any(alive(p) for p in pids), 5)
    time.sleep(SLEEP + 0.5)
    return sum(alive(p) for p in pids), len(list(work.glob("side-effect-*")))


def agent_killed_no_peer(root: Path, *, dead_after: float = 2.0) -> Trial:
    """SIGKILL an agent's process group mid-step through a real server; no other agent alive."""
    trial = Trial()
    home, work = root / "home", root / "work"
    work.mkdir(parents=True)
    home.mkdir()
    db = f"sqlite:///{home}/store.db"
    script = root / "step.py"
    script.write_text(textwrap.dedent(STEP))
    with server_process(db, home, env={"TASKMILL_SERVER_DEAD_AFTER": str(dead_after)}) as server:
        store = open_store(server.url)
        store.create_queue("default")
        task_id = step_task(store, work, script)
        agent = start_agent(home, server.url, "--heartbeat", "0.2", log=root / "agent.log")
        try:
            if not wait_until(lambda: list(work.glob("pid-*")), 60):
                trial.notes.append("the step never started: " + (root / "agent.log").read_text()[-2000:])
                return trial
            os.killpg(agent.pid, signal.SIGKILL)
            killed_at = time.monotonic()
            agent.wait(10)
            failed = wait_until(
                lambda: store.get_task(task_id).status != TaskStatus.in_progress, dead_after * 5 + 10
            )
            if failed:
                trial.detect_seconds = time.monotonic() - killed_at
            trial.running_forever = int(not failed)
            trial.orphans, trial.side_effects_after_kill = _settle(work)
        finally:
            if agent.poll() is None:
                agent.kill()
                agent.wait()
            store.close()
    return trial


def server_outage(root: Path, *, outage: float = 20.0, steps: int = 2) -> Trial:
    """SIGKILL the server mid-step for ``outage`` s, then restart it on the same port; the
    agent and its steps must carry on (no task failed for the outage)."""
    trial = Trial()
    home, work = root / "home", root / "work"
    work.mkdir(parents=True)
    home.mkdir()
    db = f"sqlite:///{home}/store.db"
    script = root / "step.py"
    script.write_text(textwrap.dedent(STEP))
    from taskmill.server import free_port

    port = free_port()
    # Agents use their default liveness settings: the outage must not count against them.
    with server_process(db, home, port=port) as server:
        store = open_store(server.url)
        store.create_queue("default")
        ids = [step_task(store, work, script, sleep=outage / 2) for _ in range(steps)]
        # One agent per step: after the outage, each must not reap the others for it.
        agents = [start_agent(home, server.url, log=root / f"agent-{i}.log") for i in range(steps)]
        wait_until(lambda: len(list(work.glob("pid-*"))) == steps, 60)
        server.kill()
    try:
        time.sleep(outage)
        with server_process(db, home, port=port) as server:
            store = open_store(server.url)
            done = wait_until(lambda: all(store.get_task(t).status.is_final for t in ids), outage + 60)
            statuses = [store.get_task(t).status for t in ids]
            trial.failed_by_outage = sum(s != TaskStatus.completed for s in statuses)
            trial.running_forever = int(not done)
            if trial.failed_by_outage:
                trial.notes += [f"{t}: {store.get_task(t).status_message}" for t in ids]
            store.close()
    finally:
        for agent in agents:
            os.killpg(agent.pid, signal.SIGTERM)
        for agent in agents:
            try:
                agent.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(agent.pid, signal.SIGKILL)
                agent.wait()
    return trial


PIPELINE = f"""
import os, sys, time
from pathlib import Path
from taskmill import PipelineController

def slow(x):
    work = Path(sys.argv[1])
    (work / f"pid-{{os.getpid()}}").touch()
    time.sleep({SLEEP})
    (work / f"side-effect-{{os.getpid()}}").touch()
    return x

if __name__ == "__main__":
    pipe = PipelineController(name="chaos", project="chaos")
    for name in ("a", "b"):
        pipe.add_function_step(name, slow, function_kwargs={{"x": 1}}, function_return="r")
    pipe.start_locally(run_pipeline_steps_locally=True)
"""


def controller_killed(root: Path) -> Trial:
    """SIGKILL the process group of a controller running process-mode steps."""
    trial = Trial()
    home, work = root / "home", root / "work"
    work.mkdir(parents=True)
    home.mkdir()
    script = root / "pipe.py"
    script.write_text(textwrap.dedent(PIPELINE))
    proc = subprocess.Popen(
        [sys.executable, str(script), str(work)],
        cwd=root,
        env=cli_env(home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        if not wait_until(lambda: len(list(work.glob("pid-*"))) == 2, 60):
            trial.notes.append("the steps never started")
            return trial
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
        trial.orphans, trial.side_effects_after_kill = _settle(work)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return trial


if __name__ == "__main__":  # one trial of each, for a quick look
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        print(agent_killed_no_peer(Path(tmp, "a")))
        print(server_outage(Path(tmp, "b"), outage=float(sys.argv[1]) if len(sys.argv) > 1 else 5.0))
