"""Leases of local runs: a local task whose process was killed is failed at the next open of the store.

Real processes: a ``Task.init`` script and a local pipeline are SIGKILLed, then the store is opened
again. Tasks of a live process, of an agent, or of another host are never touched.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from taskmill.core.model import TaskRecord, new_id
from taskmill.core.states import TaskStatus
from taskmill.store.base import TaskFilter, TaskStore
from taskmill.store.factory import open_store
from taskmill.store.lease import LEASE_KEY, ProcessId, current_process, is_alive, reap_dead_leases, serving

SCRIPT = textwrap.dedent(
    """
    import sys, time
    from taskmill import Task
    task = Task.init(project_name="lease", task_name="script")
    print(task.id, flush=True)
    time.sleep(120)
    """
)

PIPELINE = textwrap.dedent(
    """
    import time
    from taskmill import PipelineController

    def slow(x: int) -> int:
        time.sleep(120)
        return x

    pipe = PipelineController(name="leased", project="lease")
    pipe.add_function_step("slow", slow, function_kwargs={"x": 1}, function_return=["y"])
    pipe.start_locally(run_pipeline_steps_locally=False)
    """
)


@pytest.fixture
def home(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKMILL_")}
    env["TASKMILL_HOME"] = str(tmp_path / "home")
    yield tmp_path, env


def _url(env: dict[str, str]) -> str:
    return f"sqlite:///{env['TASKMILL_HOME']}/store.db"


def _start(tmp: Path, env: dict[str, str], code: str) -> subprocess.Popen[str]:
    path = tmp / "script.py"
    path.write_text(code)
    return subprocess.Popen(
        [sys.executable, str(path)], env=env, stdout=subprocess.PIPE, text=True, start_new_session=True
    )


def _wait_running(store_url: str, count: int, timeout: float = 60.0) -> list[TaskRecord]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if Path(store_url.removeprefix("sqlite:///")).exists():
            store = open_store(store_url)
            try:
                running = store.find_tasks(TaskFilter(status=(TaskStatus.in_progress,)))
            finally:
                store.close()
            if len(running) >= count:
                return running
        time.sleep(0.1)
    raise AssertionError(f"{count} running tasks did not appear")


def test_a_killed_task_init_script_is_failed_at_the_next_open(home: tuple[Path, dict[str, str]]) -> None:
    tmp, env = home
    proc = _start(tmp, env, SCRIPT)
    try:
        assert proc.stdout is not None
        task_id = proc.stdout.readline().strip()
        store = open_store(_url(env))  # the process is alive: its task stays Running
        assert store.get_task(task_id).status == TaskStatus.in_progress
        lease = ProcessId.from_json(store.get_task(task_id).runtime[LEASE_KEY])
        assert lease is not None and lease.pid == proc.pid and lease.host == socket.gethostname()
        store.close()
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    store = open_store(_url(env))
    try:
        task = store.get_task(task_id)
        assert task.status == TaskStatus.failed
        assert f"its process died without ending it: pid {proc.pid} on host {socket.gethostname()}" in (
            task.status_message
        )
        assert "(started " in task.status_message
        assert any("failed when the store was next opened" in ln.text for ln in store.get_log(task_id))
    finally:
        store.close()


@pytest.mark.parametrize("mode", ["debug", "process"])
def test_a_killed_local_pipeline_fails_its_run_and_running_step(
    home: tuple[Path, dict[str, str]], mode: str
) -> None:
    tmp, env = home
    env["TASKMILL_PIPELINE_MODE"] = mode  # debug: the step runs in the controller's process
    proc = _start(tmp, env, PIPELINE)
    try:
        running = _wait_running(_url(env), 2)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    # process mode: the step runs in a forked process of its own, which ends a moment after the
    # controller (its fork server's grace); until it has, its task is a live process's and kept
    holders = [ProcessId.from_json(t.runtime.get(LEASE_KEY)) for t in running]
    deadline = time.monotonic() + 30
    while any(h is not None and is_alive(h) for h in holders) and time.monotonic() < deadline:
        time.sleep(0.1)
    store = open_store(_url(env))
    try:
        after = {t.id: store.get_task(t.id) for t in running}
        (run,) = [t for t in after.values() if t.parent is None]
        assert run.status == TaskStatus.failed and f"pid {proc.pid} on host" in run.status_message
        (step,) = [t for t in after.values() if t.parent == run.id]
        # a step is interrupted, as a resume marks a dead controller's steps: it runs again on resume
        assert step.status == TaskStatus.stopped
        assert step.status_message.startswith("interrupted: its process died without ending it: pid ")
        assert step.status_message.endswith("the step runs again when the pipeline is resumed")
        assert store.find_tasks(TaskFilter(status=(TaskStatus.in_progress,))) == []
    finally:
        store.close()


def _running(store: TaskStore, worker: str, lease: ProcessId | None) -> str:
    runtime = {LEASE_KEY: lease.to_json()} if lease is not None else {}
    rec = TaskRecord(id=new_id(), name="t", project="lease", status=TaskStatus.in_progress, worker=worker)
    store.create_task(rec)
    if lease is not None or runtime:
        store.update_task(rec.id, runtime=runtime)
    return rec.id


def test_only_dead_local_holders_are_reaped(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/store.db"
    store = open_store(url)
    serving(store)  # record no lease of this process: the test writes its own
    me = current_process()
    host = socket.gethostname()
    reused = ProcessId(host, me.pid, me.start - 1000)  # this pid, but a process started long before
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_pid = int(gone.stdout)
    ids = {
        "live": _running(store, "local", me),
        "reused pid": _running(store, "inline", reused),
        "dead": _running(store, "pipeline controller on x", ProcessId(host, dead_pid, 1.0)),
        "agent": _running(store, f"{host}:12345", ProcessId(host, dead_pid, 1.0)),
        "other host": _running(store, "local", ProcessId(host + "-elsewhere", dead_pid, 1.0)),
        "no lease": _running(store, "local", None),
    }
    # a step whose own process died, of a run whose controller (here: this process) still runs
    controller = _running(store, "local", me)
    orphan = TaskRecord(
        id=new_id(), name="s", project="lease", parent=controller, status=TaskStatus.in_progress
    )
    store.create_task(orphan)
    store.update_task(orphan.id, runtime={LEASE_KEY: ProcessId(host, dead_pid, 1.0).to_json()})
    ids["step of a live controller"] = orphan.id
    failed = set(reap_dead_leases(store))
    assert failed == {ids["reused pid"], ids["dead"]}
    assert reap_dead_leases(store) == []  # idempotent
    for label in ("live", "agent", "other host", "no lease", "step of a live controller"):
        assert store.get_task(ids[label]).status == TaskStatus.in_progress, label
    store.close()


def test_this_process_records_its_lease_on_the_local_tasks_it_starts(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/store.db")
    try:
        mine = current_process().to_json()
        created = store.create_task(
            TaskRecord(id=new_id(), name="a", project="p", status=TaskStatus.in_progress, worker="local")
        )
        assert store.get_task(created.id).runtime[LEASE_KEY] == mine
        later = store.create_task(TaskRecord(id=new_id(), name="b", project="p"))
        assert LEASE_KEY not in store.get_task(later.id).runtime
        store.set_status(later.id, TaskStatus.in_progress)
        assert store.get_task(later.id).runtime[LEASE_KEY] == mine
        agent = store.create_task(TaskRecord(id=new_id(), name="c", project="p"))
        store.set_status(agent.id, TaskStatus.in_progress, worker="host:999")
        assert LEASE_KEY not in store.get_task(agent.id).runtime  # an agent's task: its reaper judges it
    finally:
        store.close()


def _wait_status(store: TaskStore, task_id: str, timeout: float = 20.0) -> TaskRecord:
    deadline = time.monotonic() + timeout
    while (task := store.get_task(task_id)).status == TaskStatus.in_progress:
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    return task


@pytest.mark.parametrize("what", ["script", "pipeline"])
def test_a_killed_local_run_on_a_server_store_is_ended_by_the_next_client(
    home: tuple[Path, dict[str, str]], what: str
) -> None:
    """Over HTTP too: a ``Task.init`` script or a local pipeline (debug mode) run against a
    ``taskmill server`` records its lease; SIGKILLed, its tasks are ended by the next client
    on this host that opens the store (in the background: opening never waits for the server)."""
    from tests.store.procs import server_process

    tmp, env = home
    server_home = tmp / "server"
    server_home.mkdir()
    with server_process(f"sqlite:///{server_home}/store.db", server_home) as server:
        env["TASKMILL_STORE"] = server.url
        env["TASKMILL_PIPELINE_MODE"] = "debug"
        proc = _start(tmp, env, SCRIPT if what == "script" else PIPELINE)
        watcher = open_store(server.url)
        try:
            deadline = time.monotonic() + 60
            running: list[TaskRecord] = []
            while len(running) < (1 if what == "script" else 2) and time.monotonic() < deadline:
                time.sleep(0.1)
                running = watcher.find_tasks(TaskFilter(status=(TaskStatus.in_progress,)))
            assert running, "the run never started"
            for task in running:
                lease = ProcessId.from_json(task.runtime.get(LEASE_KEY))
                assert lease is not None and lease.pid == proc.pid, task.runtime
            assert all(watcher.get_task(t.id).status == TaskStatus.in_progress for t in running)
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            watcher.close()
        store = open_store(server.url)
        try:
            ended = {t.id: _wait_status(store, t.id) for t in running}
            roots = [t for t in ended.values() if t.parent is None]
            assert len(roots) == 1 and roots[0].status == TaskStatus.failed
            assert f"its process died without ending it: pid {proc.pid} on host" in roots[0].status_message
            for step in (t for t in ended.values() if t.parent is not None):
                assert step.status == TaskStatus.stopped and step.status_message.startswith("interrupted: ")
        finally:
            store.close()
