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
    lost: int = 0  #: tasks in_progress that no claimer received (claim applied, answer lost)
    duplicates: int = 0  #: tasks received by more than one claim
    said_unreachable: int = 0  #: agent logs that said the server was unreachable
    rerun: int = 0  #: completed steps run again after a kill and resume
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


def start_agent(
    home: Path, store_url: str, *args: str, log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """``taskmill agent -q default ARGS`` in a session of its own (so its group can be killed);
    ``env`` adds variables to its environment (its tasks inherit them)."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [TASKMILL, "agent", "-q", "default", *args],
            env=cli_env(home, {"TASKMILL_STORE": store_url, **(env or {})}),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _stop_agents(agents: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM each agent's group, SIGKILL it after 15 s; idempotent."""
    for agent in agents:
        if agent.poll() is None:
            os.killpg(agent.pid, signal.SIGTERM)
    for agent in agents:
        try:
            agent.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(agent.pid, signal.SIGKILL)
            agent.wait()


def _settle(work: Path) -> tuple[int, int]:
    pids = [int(p.name.split("-")[1]) for p in work.glob("pid-*")]
    wait_until(lambda: not any(alive(p) for p in pids), 5)
    time.sleep(SLEEP + 0.5)
    return sum(alive(p) for p in pids), len(list(work.glob("side-effect-*")))


def agent_killed_no_peer(root: Path, *, dead_after: float = 2.0, db: str | None = None) -> Trial:
    """SIGKILL an agent's process group mid-step through a real server; no other agent alive.
    ``db`` is the server's store (a fresh SQLite file when None)."""
    trial = Trial()
    home, work = root / "home", root / "work"
    work.mkdir(parents=True)
    home.mkdir()
    db = db or f"sqlite:///{home}/store.db"
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


def server_outage(
    root: Path,
    *,
    outage: float = 20.0,
    steps: int = 2,
    retry_for: float | None = None,
    dead_after: float | None = None,
    db: str | None = None,
) -> Trial:
    """SIGKILL the server mid-step for ``outage`` s, then restart it on the same port; the
    agent and its steps must carry on (no task failed for the outage).

    ``retry_for`` (``TASKMILL_STORE_RETRY`` of agents and steps) and ``dead_after`` (the
    server's) default to the shipped defaults; a scaled-down long outage sets ``dead_after``
    below the outage, as a 75 s outage is longer than the old 60 s default."""
    trial = Trial()
    home, work = root / "home", root / "work"
    work.mkdir(parents=True)
    home.mkdir()
    db = db or f"sqlite:///{home}/store.db"
    script = root / "step.py"
    script.write_text(textwrap.dedent(STEP))
    from taskmill.server import free_port

    port = free_port()
    server_env = {} if dead_after is None else {"TASKMILL_SERVER_DEAD_AFTER": str(dead_after)}
    agent_env = {} if retry_for is None else {"TASKMILL_STORE_RETRY": str(retry_for)}
    # Agents use their default liveness settings: the outage must not count against them.
    with server_process(db, home, port=port, env=server_env) as server:
        store = open_store(server.url)
        store.create_queue("default")
        ids = [step_task(store, work, script, sleep=outage / 2) for _ in range(steps)]
        # One agent per step: after the outage, each must not reap the others for it.
        agents = [
            start_agent(home, server.url, log=root / f"agent-{i}.log", env=agent_env) for i in range(steps)
        ]
        wait_until(lambda: len(list(work.glob("pid-*"))) == steps, 60)
        server.kill()
    try:
        time.sleep(outage)
        with server_process(db, home, port=port, env=server_env) as server:
            store = open_store(server.url)
            done = wait_until(lambda: all(store.get_task(t).status.is_final for t in ids), outage + 60)
            statuses = [store.get_task(t).status for t in ids]
            trial.failed_by_outage = sum(s != TaskStatus.completed for s in statuses)
            trial.running_forever = int(not done)
            if trial.failed_by_outage:
                trial.notes += [f"{t}: {store.get_task(t).status_message}" for t in ids]
            store.close()
            _stop_agents(agents)  # while the server is up: they unregister at once
        logs = [(root / f"agent-{i}.log").read_text(errors="replace") for i in range(steps)]
        trial.said_unreachable = sum("unreachable since" in text for text in logs)
        trial.notes += [
            f"agent-{i}.log never said so: {t[-1500:]}"
            for i, t in enumerate(logs)
            if "unreachable since" not in t
        ]
    finally:
        _stop_agents(agents)
    return trial


def claims_under_server_kills(
    root: Path, *, tasks: int = 400, kills: int = 3, claimers: int = 2, db: str | None = None
) -> Trial:
    """``claimers`` threads claim ``tasks`` tasks one by one through a real server that is
    SIGKILLed ``kills`` times meanwhile (and restarted on the same port after 0.5 s). Counts
    tasks left ``in_progress`` that no claimer received, and tasks received twice."""
    import threading

    from taskmill.server import free_port
    from taskmill.store.base import TaskFilter

    trial = Trial()
    home = root / "home"
    home.mkdir(parents=True)
    db = db or f"sqlite:///{home}/store.db"
    port = free_port()
    received: list[str] = []
    errors: list[str] = []
    lock = threading.Lock()

    def claim_all(name: str) -> None:
        store = open_store(f"http://127.0.0.1:{port}", retry_for=60)
        try:
            while True:
                record = store.claim(["default"], name)
                if record is None:
                    return
                with lock:
                    received.append(record.id)
        except Exception as exc:  # a claimer that gave up is a finding, not a crash
            errors.append(f"{name}: {type(exc).__name__}: {exc}")
        finally:
            store.close()

    threads = [threading.Thread(target=claim_all, args=(f"claimer-{i}",)) for i in range(claimers)]
    running: list[TaskRecord] = []
    for k in range(kills + 1):
        with server_process(db, home, port=port) as server:
            if k == 0:
                store = open_store(server.url)
                store.create_queue("default")
                with store.batch():
                    for i in range(tasks):
                        rec = store.create_task(TaskRecord(id=new_id(), name=f"t{i}", project="c"))
                        store.enqueue(rec.id, "default")
                store.close()
                for th in threads:
                    th.start()
            if k < kills:
                target = tasks * (k + 1) // (kills + 1)

                def reached(t: int = target) -> bool:
                    return len(received) >= t or not any(th.is_alive() for th in threads)

                wait_until(reached, 60)
                server.kill()
                continue
            for th in threads:
                th.join(120)
            store = open_store(server.url)
            running = store.find_tasks(TaskFilter(status=(TaskStatus.in_progress,)))
            store.close()
        time.sleep(0.5)
    trial.lost = len({t.id for t in running} - set(received))
    trial.duplicates = len(received) - len(set(received))
    trial.notes += errors
    if len(set(received)) != tasks:
        trial.notes.append(f"received {len(set(received))} of {tasks} tasks")
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


REMOTE_PIPELINE = """
import time
from pathlib import Path
from taskmill import PipelineController

WORK = {work!r}


def first():
    with open(WORK + "/first.log", "a") as f:
        f.write("ran\\n")
    return 1


def second(x):
    while not Path(WORK, "go").exists():
        time.sleep(0.05)
    with open(WORK + "/second.log", "a") as f:
        f.write("ran\\n")
    return x + 1


pipe = PipelineController(name="chaos remote", project="chaos", version="1.0")
pipe.set_default_execution_queue("default")
pipe.add_function_step("first", first, function_return=["x"], cache_executed_step=False)
pipe.add_function_step("second", second, function_kwargs={{"x": "${{first.x}}"}}, function_return=["y"])
pipe.start(queue="services")
"""


def remote_controller_killed(root: Path, *, dead_after: float = 2.0, db: str | None = None) -> Trial:
    """A remote run: its controller on a services agent, its steps on another agent, through a
    real server. The services agent's process group is SIGKILLed as soon as the first step's
    task completed; a new services agent starts and ``taskmill pipelines resume RUN --queue
    services`` runs the controller again. Counts completed steps that ran again."""
    from taskmill.store.base import TaskFilter

    trial = Trial()
    home, work = root / "home", root / "work"
    work.mkdir(parents=True)
    home.mkdir()
    script = root / "remote_pipe.py"
    script.write_text(textwrap.dedent(REMOTE_PIPELINE.format(work=str(work))))
    db = db or f"sqlite:///{home}/store.db"
    agents: list[subprocess.Popen[bytes]] = []
    with server_process(db, home, env={"TASKMILL_SERVER_DEAD_AFTER": str(dead_after)}) as server:
        env = cli_env(home, {"TASKMILL_STORE": server.url})
        store = open_store(server.url)
        try:
            store.create_queue("services")
            store.create_queue("default")
            launched = subprocess.run(
                [sys.executable, str(script)], cwd=root, env=env, capture_output=True, text=True, timeout=60
            )
            if launched.returncode:
                trial.notes.append("launch failed: " + launched.stdout + launched.stderr)
                return trial
            (run,) = store.find_tasks(TaskFilter(system_tags=("pipeline",)))

            def services_agent(i: int) -> subprocess.Popen[bytes]:
                with (root / f"services-{i}.log").open("ab") as out:
                    return subprocess.Popen(
                        [TASKMILL, "agent", "-q", "services", "--services-mode", "--heartbeat", "0.2"],
                        env=env,
                        cwd=root,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )

            agents.append(services_agent(0))
            agents.append(start_agent(home, server.url, "--heartbeat", "0.2", log=root / "steps.log"))

            def first_done() -> bool:
                return any(
                    t.name == "first" and t.status == TaskStatus.completed
                    for t in store.find_tasks(TaskFilter(parent=run.id))
                )

            if not wait_until(first_done, 90):
                trial.notes.append("the first step never completed: " + (root / "services-0.log").read_text())
                return trial
            os.killpg(agents[0].pid, signal.SIGKILL)
            agents[0].wait(10)
            if not wait_until(lambda: store.get_task(run.id).status.is_final, dead_after * 5 + 10):
                trial.running_forever += 1
            agents.append(services_agent(1))
            resumed = subprocess.run(
                [TASKMILL, "pipelines", "resume", run.id, "--queue", "services"],
                cwd=root,
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            if resumed.returncode:
                trial.notes.append("resume refused: " + resumed.stdout + resumed.stderr)
                return trial
            (work / "go").touch()
            if not wait_until(lambda: store.get_task(run.id).status.is_final, 90):
                trial.running_forever += 1
            elif store.get_task(run.id).status != TaskStatus.completed:
                trial.notes.append(f"the resumed run ended {store.get_task(run.id).status.value}")
            ran = (work / "first.log").read_text().count("ran") if (work / "first.log").exists() else 0
            trial.rerun = max(0, ran - 1)
        finally:
            _stop_agents(agents)
            store.close()
    return trial


if __name__ == "__main__":  # one trial of each, for a quick look
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        print(agent_killed_no_peer(Path(tmp, "a")))
        print(server_outage(Path(tmp, "b"), outage=float(sys.argv[1]) if len(sys.argv) > 1 else 5.0))
