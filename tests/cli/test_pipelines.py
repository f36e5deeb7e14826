"""``taskmill pipelines`` on real runs: in-process debug runs for the views, real processes (the
pipeline script and the installed ``taskmill``) for resume and abort."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner, Result

from taskmill.cli._pipeline_render import progress_bar, step_times, steps_table, steps_tree
from taskmill.cli.main import app
from taskmill.config import Settings
from taskmill.core.model import TaskRecord, new_id
from taskmill.core.states import TaskStatus, TaskTypes
from taskmill.runs import commands
from taskmill.runs.processes import controller_info
from taskmill.store.base import TaskFilter, TaskStore
from taskmill.store.factory import open_store
from tests.cli import pipeline_fixtures as fx

TASKMILL = Path(sys.executable).with_name("taskmill")


def cli(*args: str) -> Result:
    """The CLI in-process, on the store of ``tm_home`` (wide, so cells stay on one line)."""
    return CliRunner().invoke(app, ["pipelines", *args], env={"COLUMNS": "200"})


def run_diamond(**kwargs: object) -> str:
    pipe = fx.diamond(**kwargs)  # type: ignore[arg-type]
    pipe.debug_pipeline(progress=False)
    return pipe.id


@pytest.fixture
def store(tm_home: Path) -> Iterator[TaskStore]:
    s = open_store(Settings.from_env().store_url)
    yield s
    s.close()


def nodes(store: TaskStore, run_id: str) -> dict[str, dict[str, object]]:
    return dict(store.get_nodes(run_id))


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``predicate`` (tests may poll; the code under test does not)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        time.sleep(0.05)


# -- views of real runs --------------------------------------------------------------------------


def test_list_runs_and_show_a_failed_diamond(store: TaskStore) -> None:
    ok = run_diamond()
    failed = run_diamond(fail=True)

    listed = cli("list")
    assert listed.exit_code == 0, listed.output
    row = next(ln for ln in listed.stdout.splitlines() if ln.startswith("diamond"))
    assert row.split()[:3] == ["diamond", "tests", "2"] and "1.0.0" in row
    data = json.loads(cli("list", "--json").stdout)
    assert data[0]["counts"] == {"running": 0, "pending": 0, "completed": 1, "failed": 1, "aborted": 0}

    runs = cli("runs", "diamond")
    assert runs.exit_code == 0, runs.output
    lines = [ln for ln in runs.stdout.splitlines()[2:] if ln.strip()]
    assert lines[0].startswith(failed[:8]) and "diamond #2" in lines[0] and "Failed" in lines[0]
    assert "██░░ 2/4" in lines[0] and "████ 4/4" in lines[1] and "Completed" in lines[1]
    as_json = json.loads(cli("runs", "diamond", "--json").stdout)
    assert [(r["id"], r["done"], r["total"]) for r in as_json] == [(failed, 2, 4), (ok, 4, 4)]

    shown = cli("show", failed[:6])
    assert shown.exit_code == 0, shown.output
    out = shown.stdout
    assert out.startswith(f"diamond #2  {failed}")
    assert "Failed: step(s) failed: square" in out and "n=3, fail=true" in out
    steps = {
        ln.split()[0]: ln for ln in out.splitlines() if ln.split() and ln.split()[0] in nodes(store, failed)
    }
    assert list(steps) == ["load", "double", "square", "join"]  # topological order
    assert "≡ cached" in steps["load"] and "hit" in steps["load"]  # the first run computed it
    assert "✗ failed" in steps["square"] and "RuntimeError: square refused its input" in steps["square"]
    assert "↷ skipped" in steps["join"]
    square_task = nodes(store, failed)["square"]["job_id"]
    assert isinstance(square_task, str) and square_task[:8] in steps["square"]

    tree = cli("show", failed, "--tree").stdout
    assert "└── ≡ load" in tree and "└── ✗ square  failed" in tree
    assert "│   └── ↷ join  skipped" in tree and "└── ↷ join  (see above)" in tree  # under both parents
    detail = json.loads(cli("show", failed, "--json").stdout)
    assert detail["status"] == "failed" and detail["params"] == {"n": 3, "fail": True}
    assert [s["name"] for s in detail["steps"]] == ["load", "double", "square", "join"]
    assert detail["steps"][3]["parents"] == ["double", "square"] and detail["controller"]["local"]


def test_explain_hit_then_miss_with_the_changed_parameter(store: TaskStore) -> None:
    first = run_diamond()
    second = run_diamond()
    shown = cli("show", second).stdout
    assert "≡ cached" in shown and "Steps       4/4 done  ·  ≡ cached 3" in shown

    hit = cli("explain", second, "load")
    assert hit.exit_code == 0, hit.output
    load_task = nodes(store, first)["load"]["job_id"]
    assert isinstance(load_task, str)
    assert "cache: hit" in hit.stdout and f"Reused task  {load_task}" in hit.stdout
    assert f"of run 'diamond #1' {first[:8]}" in hit.stdout
    data = json.loads(cli("explain", second, "load", "--json").stdout)
    assert data["cache"]["result"] == "hit" and data["source_task_ref"]["run_id"] == first

    third = run_diamond(n=5)
    miss = cli("explain", third, "load")
    assert "cache: miss" in miss.stdout and "Changed      params" in miss.stdout
    assert "Details      kwargs/n: 3 -> 5" in miss.stdout
    assert f"Compared to  {load_task}" in miss.stdout
    disabled = cli("explain", third, "join").stdout
    assert "cache: disabled" in disabled and "cache_executed_step=True" in disabled


def test_errors_are_one_red_line(store: TaskStore) -> None:
    run_id = run_diamond()
    run_diamond(project="other")
    unknown = cli("explain", run_id, "nope")
    assert unknown.exit_code == 1
    assert unknown.stderr.startswith(f"Error: run diamond #1 ({run_id}) has no step 'nope'; its steps: load,")
    ambiguous = cli("runs", "diamond")
    assert ambiguous.exit_code == 1 and "exists in 2 projects (other, tests)" in ambiguous.stderr
    assert len(json.loads(cli("runs", "diamond", "--project", "other", "--json").stdout)) == 1
    missing = cli("runs", "nope")
    assert missing.exit_code == 1 and "known pipelines: diamond (project other), diamond (project tests)" in (
        missing.stderr
    )
    step_task = nodes(store, run_id)["load"]["job_id"]
    assert isinstance(step_task, str)
    not_a_run = cli("show", step_task)
    assert not_a_run.exit_code == 1 and f"is step 'load' of pipeline run {run_id}" in not_a_run.stderr
    done = cli("resume", run_id)
    assert done.exit_code == 1 and "completed; there is nothing to resume" in done.stderr
    assert "already ended: Completed" in cli("abort", run_id).stdout
    for args in (["--param", "n=abc"], ["--param", "nope=1"], ["--recompute", "nope"], ["--mode", "fast"]):
        store.set_status(run_id, TaskStatus.failed, force=True)
        bad = cli("resume", run_id, *args)
        assert bad.exit_code == 1 and bad.stderr.startswith("Error: ") and bad.stderr.count("\n") == 1, args
    assert (
        "takes int values on this run; 'abc' is not one" in cli("resume", run_id, "--param", "n=abc").stderr
    )


@pytest.mark.parametrize("command", ["list", "runs", "show", "explain", "resume", "abort"])
def test_help_has_examples(command: str) -> None:
    result = CliRunner().invoke(app, ["pipelines", command, "--help"], env={"COLUMNS": "200"})
    assert (
        result.exit_code == 0
        and "Examples" in result.stdout
        and f"taskmill pipelines {command}" in result.stdout
    )


def test_progress_bar() -> None:
    assert progress_bar(4, 6, TaskStatus.in_progress).plain == "████░░ 4/6"
    assert progress_bar(5, 20, TaskStatus.failed).plain == "██░░░░░░░░ 5/20"
    assert progress_bar(0, 0, TaskStatus.created).plain == "-"


def test_show_gives_wait_and_run_apart_from_the_tasks_own_times(store: TaskStore) -> None:
    run_id = run_diamond()
    detail = commands.run_detail(store, run_id)
    ids = tuple(s.task_id for s in detail.steps if s.task_id)
    tasks = {t.id: t for t in store.find_tasks(TaskFilter(ids=ids))}
    console = Console(width=200, record=True)
    console.print(steps_table(detail, tasks))
    out = console.export_text()
    assert out.split()[:6] == ["Step", "Status", "Task", "Wait", "Ran", "Cache"] and "Duration" not in out
    for step in detail.steps:
        task = tasks[step.task_id or ""]
        times = step_times(step, task)
        assert task.started is not None and task.completed is not None and step.started is not None
        assert times.ran == task.completed - task.started  # the task's own start -> end
        assert times.wait == max(0.0, task.started - step.started) and not times.so_far
    console.print(steps_tree(detail, tasks))
    tree = console.export_text()
    assert "completed" in tree and " ran 0.0s  wait 0.0s" in tree


def test_step_times_while_waiting_running_and_without_a_task_record(store: TaskStore) -> None:
    run = _fake_run(store, "elsewhere.example", 1)
    detail = commands.run_detail(store, run.id, now=1000.0)
    step = detail.steps[0]
    task = store.get_task(step.task_id or "")
    launched = dataclasses.replace(step, started=(task.started or 0) - 2.0)
    running = step_times(launched, task, now=(task.started or 0) + 5.0)
    assert (running.wait, running.ran, running.so_far) == (2.0, 5.0, True)
    queued = dataclasses.replace(launched, status="queued")
    assert step_times(queued, None, now=launched.started + 3.0).wait == 3.0  # not started yet
    ended = dataclasses.replace(launched, ended=launched.started + 4.0, status="completed")
    assert (step_times(ended, None).wait, step_times(ended, None).ran) == (None, 4.0)  # node time only
    assert step_times(dataclasses.replace(ended, status="cached"), task).ran is None  # ran nothing here


def _fake_run(store: TaskStore, host: str, pid: int) -> TaskRecord:
    store.ensure_project("tests/.pipelines/fake", system_tags=("pipeline", "hidden"))
    rec = store.create_task(
        TaskRecord(
            id=new_id(),
            name="fake #1",
            project="tests/.pipelines/fake",
            task_type=TaskTypes.controller,
            system_tags=("pipeline",),
        )
    )
    store.set_status(rec.id, TaskStatus.in_progress)
    step = store.create_task(TaskRecord(id=new_id(), name="s", project=rec.project, parent=rec.id))
    store.set_status(step.id, TaskStatus.in_progress)
    store.put_nodes(rec.id, [("s", {"name": "s", "status": "running", "job_id": step.id, "parents": []})])
    return store.update_task(rec.id, runtime={"controller_pid": pid, "controller_host": host})


def test_live_or_remote_controllers_are_not_resumed(store: TaskStore) -> None:
    here = _fake_run(store, socket.gethostname(), os.getpid())  # "alive": this very process
    assert "is still running (controller pid" in cli("resume", here.id).stderr
    assert "controlled by this very process" in cli("abort", here.id).stderr
    remote = _fake_run(store, "elsewhere.example", 12345)
    assert "on host 'elsewhere.example', which this host cannot check" in cli("resume", remote.id).stderr
    aborted = cli("abort", remote.id)
    assert aborted.exit_code == 0 and "runs on host 'elsewhere.example'" in aborted.stdout
    assert store.get_task(remote.id).status == TaskStatus.stopped
    assert [t.status for t in store.find_tasks(TaskFilter(parent=remote.id))] == [TaskStatus.stopped]
    assert nodes(store, remote.id)["s"]["status"] == "aborted"


# -- real processes: resume and abort ------------------------------------------------------------


def _env(tm_home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKMILL_")}
    return {**env, "TASKMILL_HOME": str(tm_home), "COLUMNS": "200"}


def _taskmill(tm_home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(TASKMILL), "pipelines", *args], capture_output=True, text=True, env=_env(tm_home), timeout=60
    )


def _only_run(store: TaskStore, name: str) -> TaskRecord:
    (run,) = commands.list_runs(store, "tests", name)
    return store.get_task(run.id)


def test_resume_reruns_only_what_did_not_complete(tm_home: Path, store: TaskStore, tmp_path: Path) -> None:
    script = tmp_path / "flow.py"
    script.write_text(fx.RESUMABLE_SCRIPT)
    first = subprocess.run(
        [sys.executable, str(script)], env=_env(tm_home), capture_output=True, text=True, timeout=60
    )
    run = _only_run(store, "resumable")
    assert run.status == TaskStatus.failed, first.stdout + first.stderr
    before = nodes(store, run.id)
    assert [before[s]["status"] for s in ("prepare", "flaky", "report")] == ["completed", "failed", "skipped"]

    (tmp_path / "marker").touch()
    resumed = _taskmill(tm_home, "resume", run.id[:8], "--param", "suffix=!")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert f"Resuming resumable #1 ({run.id})" in resumed.stderr and "is Completed" in resumed.stderr

    after = nodes(store, run.id)
    assert store.get_task(run.id).status == TaskStatus.completed
    assert after["prepare"]["job_id"] == before["prepare"]["job_id"]  # kept, not re-run
    assert len(store.find_tasks(TaskFilter(parent=run.id, name="prepare"))) == 1
    assert after["flaky"]["status"] == "completed" and after["flaky"]["job_id"] != before["flaky"]["job_id"]
    flaky_tasks = store.find_tasks(TaskFilter(parent=run.id, name="flaky"))
    assert sorted(t.status for t in flaky_tasks) == [TaskStatus.completed, TaskStatus.failed]
    assert store.get_param_dict(run.id)["Args/suffix"] == "!"
    report_id = after["report"]["job_id"]
    assert isinstance(report_id, str)
    assert store.get_param_dict(report_id)["return/text"] == "y=21!"  # the new parameter was used


def _start_sleepy(tm_home: Path, store: TaskStore, tmp_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    script = tmp_path / "sleepy.py"
    script.write_text(fx.SLEEPY_SCRIPT)
    proc = subprocess.Popen(
        [sys.executable, str(script)], env=_env(tm_home), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )

    def napping() -> bool:
        runs = store.find_tasks(TaskFilter(task_type=(TaskTypes.controller,), system_tags=("pipeline",)))
        nap = nodes(store, runs[0].id).get("nap", {}) if runs else {}
        # the node runs once launched; its task is Running only once the step's process took it
        return (
            nap.get("status") == "running"
            and bool(nap.get("job_id"))
            and store.get_task(str(nap["job_id"])).status == TaskStatus.in_progress
        )

    try:
        wait_until(napping, 30, "the nap step to run")
    except AssertionError:
        proc.kill()
        proc.wait()
        raise
    return proc, _only_run(store, "sleepy").id


def test_abort_signals_the_live_controller(tm_home: Path, store: TaskStore, tmp_path: Path) -> None:
    proc, run_id = _start_sleepy(tm_home, store, tmp_path)
    try:
        started = time.monotonic()
        aborted = _taskmill(tm_home, "abort", run_id[:8])
        assert aborted.returncode == 0, aborted.stderr
        assert f"sent SIGTERM to the controller (pid {proc.pid})" in aborted.stdout
        assert time.monotonic() - started < 8
        assert proc.wait(timeout=5) is not None
    finally:
        proc.kill()
        proc.wait()
    assert store.get_task(run_id).status == TaskStatus.stopped
    state = nodes(store, run_id)
    assert state["nap"]["status"] == "aborted" and state["after"]["status"] == "skipped"
    nap_task = state["nap"]["job_id"]
    assert isinstance(nap_task, str) and store.get_task(nap_task).status == TaskStatus.stopped


def test_a_run_whose_controller_died_is_ended_at_the_next_open(
    tm_home: Path, store: TaskStore, tmp_path: Path
) -> None:
    proc, run_id = _start_sleepy(tm_home, store, tmp_path)
    os.kill(proc.pid, signal.SIGKILL)  # not reaped yet: a zombie must count as gone
    wait_until(lambda: not controller_info(store.get_task(run_id)).alive, 5, "the controller to die")
    shown = _taskmill(tm_home, "show", run_id)  # a new process opens the store: the lease is checked
    proc.wait()
    assert shown.returncode == 0, shown.stderr
    run = store.get_task(run_id)
    assert run.status == TaskStatus.failed
    assert f"its process died without ending it: pid {proc.pid} on host {socket.gethostname()}" in (
        run.status_message
    )
    assert "Failed" in shown.stdout
    assert [t.status for t in store.find_tasks(TaskFilter(parent=run_id))] == [TaskStatus.stopped]
    steps = {s.name: s for s in commands.run_detail(store, run_id).steps}
    assert steps["nap"].status == "aborted" and steps["after"].status == "skipped"  # shown settled
    aborted = _taskmill(tm_home, "abort", run_id)
    assert aborted.returncode == 0 and "already ended: Failed; nothing to abort" in aborted.stdout


def test_a_step_launched_but_not_started_when_its_controller_died_is_stopped_at_the_next_open(
    tm_home: Path, store: TaskStore, tmp_path: Path
) -> None:
    proc, run_id = _start_sleepy(tm_home, store, tmp_path)
    # the record a controller makes when it launches a step, before the step's process takes it
    draft = store.create_task(
        TaskRecord(id=new_id(), name="after", project=store.get_task(run_id).project, parent=run_id)
    )
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    shown = _taskmill(tm_home, "show", run_id)
    assert shown.returncode == 0, shown.stderr
    ended = store.get_task(draft.id)
    assert ended.status == TaskStatus.stopped
    assert f"interrupted before it started: its controller died (pid {proc.pid}" in (
        ended.status_message or ""
    )
    assert "taskmill: task stopped when the store was next opened" in store.get_log(draft.id)[-1].text
    assert {t.status for t in store.find_tasks(TaskFilter(parent=run_id))} == {TaskStatus.stopped}


def test_resume_a_run_whose_controller_was_killed(tm_home: Path, store: TaskStore, tmp_path: Path) -> None:
    proc, run_id = _start_sleepy(tm_home, store, tmp_path)
    proc.kill()
    proc.wait()
    first_nap = nodes(store, run_id)["nap"]["job_id"]
    assert store.get_task(run_id).status == TaskStatus.in_progress  # nobody ended it
    resumed = _taskmill(tm_home, "resume", run_id, "--param", "seconds=0")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert store.get_task(run_id).status == TaskStatus.completed
    assert store.get_param_dict(run_id)["Args/seconds"] == 0.0
    naps = {t.id: t.status for t in store.find_tasks(TaskFilter(parent=run_id, name="nap"))}
    assert naps.pop(str(first_nap)) == TaskStatus.stopped  # the interrupted attempt
    assert list(naps.values()) == [TaskStatus.completed]
    assert nodes(store, run_id)["after"]["status"] == "completed"
