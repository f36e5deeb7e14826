"""Crash faults of local runs (no server, no agent), shared by the chaos tests and the bench.

* :func:`machine_died_then_resume`: every process of a local pipeline run is SIGKILLed at a
  random moment after a step completed (a machine dying), then ``taskmill pipelines resume``;
  counts completed steps that ran again.
* :func:`busy_writers_killed`: ``Task.init`` scripts uploading artifacts and reporting scalars
  into one SQLite store are SIGKILLed at random moments; then the store must be intact, no task
  left *Running* after the next open (the lease), and ``taskmill store gc`` must leave no
  garbage behind and keep every live writer's file.

As in :mod:`tests.chaos.faults`, each function runs one trial in a folder of its own and returns
what it saw, never asserting. Blocking.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

from taskmill.core.states import TaskStatus
from taskmill.errors import StoreError
from taskmill.store.base import TaskFilter
from taskmill.store.factory import open_store
from tests.chaos.faults import wait_until
from tests.store.procs import TASKMILL, cli_env

#: steps of the local pipeline: name -> parents
STEPS = {"a": (), "b": ("a",), "c": ("a",), "d": ("b", "c"), "e": ("d",)}

LOCAL_PIPELINE = """
import os, random, sys, time
from pathlib import Path
from taskmill import PipelineController

WORK = Path(__file__).parent / "work"
STEPS = {steps!r}


def step(name):
    time.sleep(random.uniform(0.1, 0.6))
    # the side effect, keyed by step: a completed step re-run writes a second file
    (WORK / f"ran-{{name}}-{{os.getpid()}}-{{time.monotonic_ns()}}").touch()
    return name


if __name__ == "__main__":
    pipe = PipelineController(name="machine died", project="chaos")
    for name, parents in STEPS.items():
        pipe.add_function_step(
            name, step, function_kwargs={{"name": name}}, function_return=["r"], parents=list(parents),
            cache_executed_step=False,
        )
    pipe.start_locally(run_pipeline_steps_locally=True)
"""


@dataclass
class CrashTrial:
    """What one crash trial saw."""

    kills: int = 0  #: processes (or process groups) SIGKILLed
    rerun: int = 0  #: steps completed before the kill that ran again on resume
    completed_at_kill: int = 0  #: steps whose task was completed in the store when killed
    run_completed: bool = False  #: the resumed run ended completed
    integrity: str = ""  #: ``PRAGMA integrity_check``'s answer
    artifacts: int = 0  #: artifact records checked
    artifacts_bad: int = 0  #: records whose file is missing or has another size or hash
    running_after_open: int = 0  #: tasks still *Running* after the next open of the store
    ended_by_lease: int = 0  #: dead writers' tasks failed by a later open of the store (the lease)
    temporary_found: int = 0  #: temporary files killed writers left (before gc)
    unreferenced_found: int = 0  #: unreferenced artifact files killed writers left (before gc)
    garbage_bytes: int = 0  #: bytes those take
    dry_run_listed: int = 0  #: garbage files ``store gc --dry-run`` listed
    temporary_left: int = 0  #: temporary files left after ``store gc``
    unreferenced_left: int = 0  #: unreferenced artifact files left after ``store gc``
    live_writer_broken: int = 0  #: a live writer's artifacts broken by gc, or its run failed
    unopenable: int = 0  #: stores that can no longer be opened after the kill
    notes: list[str] = field(default_factory=list)


def _steps_completed(store_url: str) -> dict[str, str]:
    """step name -> task id of the steps whose task is completed."""
    store = open_store(store_url)
    try:
        return {
            str(t.runtime.get("pipeline_step")): t.id
            for t in store.find_tasks(TaskFilter(status=(TaskStatus.completed,)))
            if t.parent and t.runtime.get("pipeline_step")
        }
    finally:
        store.close()


def machine_died_then_resume(root: Path, *, rng: random.Random | None = None) -> CrashTrial:
    """Run the 5-step local pipeline (process-mode steps), SIGKILL its whole process group
    0-1 s after the first step's task completed, resume it, count the re-runs."""
    rng = rng or random.Random()
    trial = CrashTrial()
    home, work = root / "home", root / "work"
    work.mkdir(parents=True)
    script = root / "pipe.py"
    script.write_text(textwrap.dedent(LOCAL_PIPELINE.format(steps=STEPS)))
    env = cli_env(home)
    url = f"sqlite:///{home}/store.db"
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        if not wait_until(lambda: list(work.glob("ran-*")) or proc.poll() is not None, 90):
            trial.notes.append("no step ever ran")
            return trial
        wait_until(lambda: bool(_steps_completed(url)) or proc.poll() is not None, 30)
        time.sleep(rng.uniform(0.0, 1.0))
        if proc.poll() is not None:
            trial.notes.append(f"the run ended (rc {proc.returncode}) before the kill")
            return trial
        os.killpg(proc.pid, signal.SIGKILL)  # the controller and every step it started
        trial.kills = 1
        proc.wait(10)
        # what the store says was completed when the machine died (nothing runs now)
        done = _steps_completed(url)
        trial.completed_at_kill = len(done)
        before = {name: len(list(work.glob(f"ran-{name}-*"))) for name in STEPS}
        store = open_store(url)
        (run,) = store.find_tasks(TaskFilter(system_tags=("pipeline",)))
        store.close()
        resumed = subprocess.run(
            [TASKMILL, "pipelines", "resume", run.id],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if resumed.returncode:
            trial.notes.append("resume failed: " + (resumed.stdout + resumed.stderr)[-2000:])
        after = {name: len(list(work.glob(f"ran-{name}-*"))) for name in STEPS}
        trial.rerun = sum(after[name] - before[name] for name in done)
        store = open_store(url)
        trial.run_completed = store.get_task(run.id).status == TaskStatus.completed
        store.close()
        missing = [name for name in STEPS if after[name] < 1]
        if missing:
            trial.notes.append(f"steps that never ran: {missing}")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return trial


WRITER = """
import os, sys
from pathlib import Path
from taskmill import Task

work, size = Path(sys.argv[1]), int(sys.argv[2])
stop = work / "stop"
i = 0
while not stop.exists():
    task = Task.init(project_name="chaos", task_name=f"writer {os.getpid()} {i}")
    for j in range(3):
        blob = work / f"blob-{os.getpid()}-{i}-{j}.bin"
        blob.write_bytes(os.urandom(size))
        task.upload_artifact(f"blob-{j}", artifact_object=blob)
        task.get_logger().report_scalar("loss", "train", value=1.0 / (j + 1), iteration=j)
        blob.unlink()
    task.close()
    i += 1
"""


#: ``store gc --min-age`` of the trials: the age that protects a live writer's file whose
#: record is not committed yet (with 0, gc can remove it: see the bench's notes)
GC_MIN_AGE = 2.0


def _spawn(script: Path, work: Path, env: dict[str, str], size: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, str(script), str(work), str(size)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return "sha256:" + digest.hexdigest()


def _local(uri: str) -> Path:
    return Path(uri.removeprefix("file://"))


def _check_artifacts(url: str, trial: CrashTrial) -> None:
    """Every recorded artifact's file exists with its recorded size and hash."""
    store = open_store(url)
    try:
        for task in store.find_tasks(TaskFilter()):
            for art in store.get_artifacts(task.id):
                trial.artifacts += 1
                path = _local(art.uri)
                if not path.is_file() or path.stat().st_size != art.size or _sha256(path) != art.hash:
                    trial.artifacts_bad += 1
                    if len(trial.notes) < 5:
                        trial.notes.append(f"artifact {task.id}/{art.name} at {art.uri} is broken")
    finally:
        store.close()


def _gc(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TASKMILL, "store", "gc", "--min-age", str(GC_MIN_AGE), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _garbage(artifacts: Path, url: str, min_age: float) -> tuple[int, int, int]:
    """(temporary, unreferenced, bytes) of the files under ``artifacts`` older than ``min_age``
    s, outside the folders of running tasks, judged from the store's records (not by the gc
    code under test). The folder is walked before the store is read, so a live writer's task
    or record that appears meanwhile is seen."""
    cutoff = time.time() - min_age
    files = [p for p in artifacts.rglob("*") if p.is_file() and p.stat().st_mtime < cutoff]
    store = open_store(url)
    try:
        busy = {t.id for t in store.find_tasks(TaskFilter(status=(TaskStatus.in_progress,)))}
        keep = {_local(u).resolve() for u in store.referenced_uris()}  # type: ignore[attr-defined]
    finally:
        store.close()
    temporary = unreferenced = size = 0
    for path in files:
        rel = path.relative_to(artifacts).parts
        if rel[0] in busy or not path.exists() or any(p in keep for p in path.resolve().parents):
            continue
        if any(part.startswith(".tmp-") or (part.startswith(".") and part.endswith(".part")) for part in rel):
            temporary += 1
        elif path.resolve() not in keep:
            unreferenced += 1
        else:
            continue
        size += path.stat().st_size
    return temporary, unreferenced, size


def busy_writers_killed(
    root: Path, *, kills: int = 10, writers: int = 3, size: int = 300_000, rng: random.Random | None = None
) -> CrashTrial:
    """``writers`` ``Task.init`` scripts upload ``size``-byte artifacts in a loop; one at a time,
    at random moments, one is SIGKILLed and replaced, ``kills`` times. Then, with one writer
    still alive: integrity, artifacts, the lease on next open, ``store gc --dry-run`` and
    ``store gc`` (``--min-age`` :data:`GC_MIN_AGE`), and the live writer must finish with intact artifacts."""
    rng = rng or random.Random()
    trial = CrashTrial()
    home, work = root / "home", root / "work"
    work.mkdir(parents=True)
    script = root / "writer.py"
    script.write_text(textwrap.dedent(WRITER))
    env = cli_env(home)
    url = f"sqlite:///{home}/store.db"
    # Created before any writer may be killed: a kill during the creation is its own fault
    # (store_creation_killed), which would end this trial at once.
    open_store(url).close()
    procs = [_spawn(script, work, env, size) for _ in range(writers)]
    try:
        while trial.kills < kills:
            time.sleep(rng.uniform(0.2, 1.5))
            victim = rng.randrange(writers)
            if procs[victim].poll() is not None:
                trial.notes.append(f"a writer exited by itself (rc {procs[victim].returncode})")
            else:
                os.killpg(procs[victim].pid, signal.SIGKILL)
                trial.kills += 1
            procs[victim].wait(10)
            procs[victim] = _spawn(script, work, env, size)
        for proc in procs[1:]:
            os.killpg(proc.pid, signal.SIGKILL)
            trial.kills += 1
            proc.wait(10)
        live = procs[0]  # still writing while the store is checked and collected
        time.sleep(GC_MIN_AGE + 0.5)  # the dead writers' files are old enough for gc
        db = home / "store.db"
        with sqlite3.connect(db) as conn:
            trial.integrity = str(conn.execute("PRAGMA integrity_check").fetchone()[0])
        store = open_store(url)  # the lease: dead writers' tasks are failed here
        running = store.find_tasks(TaskFilter(status=(TaskStatus.in_progress,)))
        # the live writer's own task may be running; anything else is a dead writer's
        trial.running_after_open = sum(t.runtime.get("_lease", {}).get("pid") != live.pid for t in running)  # type: ignore[union-attr]
        trial.ended_by_lease = sum(
            "its process died" in t.status_message
            for t in store.find_tasks(TaskFilter(status=(TaskStatus.failed,)))
        )
        store.close()
        garbage = _garbage(home / "artifacts", url, GC_MIN_AGE)
        trial.temporary_found, trial.unreferenced_found, trial.garbage_bytes = garbage
        dry = _gc(env, "--dry-run")
        if dry.returncode:
            trial.notes.append("gc --dry-run failed: " + dry.stdout + dry.stderr)
        listed = re.search(r"Would remove (\d+) temporary file\(s\) and (\d+) unreferenced", dry.stdout)
        trial.dry_run_listed = int(listed[1]) + int(listed[2]) if listed else 0
        if _garbage(home / "artifacts", url, GC_MIN_AGE) != garbage:
            trial.notes.append(f"the dry run changed the garbage: {garbage} before")
        if bool(trial.dry_run_listed) != bool(garbage[0] + garbage[1]):  # gc counts a temporary folder once
            trial.notes.append(f"the dry run listed {trial.dry_run_listed}; found {garbage[:2]} files")
        collected = _gc(env)
        if collected.returncode:
            trial.notes.append("gc failed: " + collected.stdout + collected.stderr)
        trial.temporary_left, trial.unreferenced_left, _ = _garbage(home / "artifacts", url, GC_MIN_AGE)
        (work / "stop").touch()
        if live.wait(60):
            trial.live_writer_broken += 1
            trial.notes.append(f"the live writer failed (rc {live.returncode})")
        _check_artifacts(url, trial)
    except StoreError as exc:  # a store that cannot be opened any more is a finding
        trial.notes.append(f"{type(exc).__name__}: {exc}"[:2000])
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    return trial


_OPEN = "import sys; from taskmill.store.factory import open_store; open_store(sys.argv[1]).close()"


def store_creation_killed(root: Path, *, rng: random.Random | None = None) -> CrashTrial:
    """SIGKILL a process 0-0.4 s after it began creating a new SQLite store (the schema
    migration); then open the store again. Counts a store that can no longer be opened."""
    rng = rng or random.Random()
    trial = CrashTrial()
    root.mkdir(parents=True, exist_ok=True)
    db = root / "store.db"
    url = f"sqlite:///{db}"
    proc = subprocess.Popen([sys.executable, "-c", _OPEN, url], stderr=subprocess.DEVNULL)
    wait_until(lambda: db.exists() or proc.poll() is not None, 60)
    time.sleep(rng.uniform(0.0, 0.4))
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
        trial.kills = 1
    proc.wait(10)
    again = subprocess.run([sys.executable, "-c", _OPEN, url], capture_output=True, text=True, timeout=60)
    if again.returncode:
        trial.unopenable = 1
        errors = [line for line in again.stderr.splitlines() if "Error:" in line]
        trial.notes.append((errors or [again.stderr or "no output"])[-1][:300])
    return trial
