"""Commands on stored runs over a real SQLite store: list, show, explain, abort, clone, resume."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

from taskmill.core.model import ScriptInfo
from taskmill.core.states import TaskStatus
from taskmill.errors import ExecutionError, NotFoundError
from taskmill.runs import commands
from taskmill.runs.views import NodeData
from taskmill.store.base import TaskStore
from tests.runs.stored import make_run, make_step

#: A stored definition, as a controller writes it before any step starts.
DAG: dict[str, NodeData] = {
    "load": {"name": "load", "parents": [], "status": "pending"},
    "train": {"name": "train", "parents": ["load"], "status": "pending", "cache_executed_step": True},
}

#: Writes the environment a resumed or new run's script gets, and exits with code 3.
SCRIPT = """
import json, os, pathlib
keys = ("TASK_ID", "RESUME", "RECOMPUTE", "PIPELINE_MODE", "STORE")
env = {f"TASKMILL_{k}": os.environ.get(f"TASKMILL_{k}") for k in keys}
pathlib.Path("env.json").write_text(json.dumps(env))
raise SystemExit(3)
"""


def test_pipelines_are_listed_with_counts_newest_first(store: TaskStore) -> None:
    make_run(store, "etl", status=TaskStatus.completed, runtime={"version": "1.0.0"}, tags=("a",))
    make_run(store, "etl", number=2, status=TaskStatus.failed, runtime={"version": "1.1.0"}, tags=("b",))
    make_run(store, "train", project="ml", status=TaskStatus.in_progress)
    store.ensure_project("ml/.pipelines/never", system_tags=("pipeline", "hidden"))  # no runs yet
    pipes = {p.name: p for p in commands.list_pipelines(store)}
    assert set(pipes) == {"etl", "train", "never"}
    etl = pipes["etl"]
    assert (etl.project, etl.runs, etl.latest_version, etl.tags) == ("tests", 2, "1.1.0", ("b", "a"))
    assert etl.counts == {"running": 0, "pending": 0, "completed": 1, "failed": 1, "aborted": 0}
    assert pipes["train"].counts["running"] == 1 and pipes["never"].runs == 0
    assert [p.name for p in commands.list_pipelines(store)][-1] == "never"


def test_runs_of_a_pipeline_name_its_project_when_it_is_not_unique(store: TaskStore) -> None:
    make_run(store, "etl", project="a")
    make_run(store, "etl", project="b")
    with pytest.raises(ValueError, match=r"exists in 2 projects \(a, b\); say which one with --project"):
        commands.list_runs(store, None, "etl")
    assert [r.project for r in commands.list_runs(store, "b", "etl")] == ["b"]
    with pytest.raises(NotFoundError, match=r"known pipelines: etl \(project a\), etl \(project b\)"):
        commands.list_runs(store, None, "nope")


def test_run_detail_shows_args_and_steps_in_order(store: TaskStore) -> None:
    run = make_run(store, definition=DAG, params={"n": 3}, nodes={"load": {"status": "completed"}})
    detail = commands.run_detail(store, run.id)
    assert detail.params == {"n": 3} and [s.name for s in detail.steps] == ["load", "train"]
    assert (detail.summary.done, detail.summary.total) == (1, 2)
    assert detail.to_dict()["record"]["id"] == run.id


def test_explain_says_why_there_is_no_cache_decision_or_what_it_was(store: TaskStore) -> None:
    run = make_run(store, status=TaskStatus.failed, definition=DAG)
    source = make_step(store, run, "load", TaskStatus.completed)
    store.put_nodes(
        run.id,
        [("train", {"status": "cached", "cache": {"result": "hit", "source_task": source.id}})],
    )
    hit = commands.explain_step(store, run.id, "train")
    assert hit["cache"] == {"result": "hit", "source_task": source.id} and hit["cache_enabled"] is True
    assert hit["source_task_ref"] == {
        "id": source.id,
        "name": "load",
        "status": "completed",
        "run_id": run.id,
        "run_name": "etl #1",
    }
    none = commands.explain_step(store, run.id, "load")
    why = "no cache decision was recorded: it has not launched yet"
    assert none["cache"] == {"result": "none", "reason": why}
    with pytest.raises(NotFoundError, match="has no step 'nope'; its steps: load, train"):
        commands.explain_step(store, run.id, "nope")


def test_abort_refuses_drafts_and_leaves_finished_runs(store: TaskStore) -> None:
    with pytest.raises(ValueError, match="is a draft"):
        commands.abort_run(store, make_run(store, status=TaskStatus.created).id)
    done = make_run(store, number=2, status=TaskStatus.completed)
    assert "already ended: Completed; nothing to abort" in commands.abort_run(store, done.id)


def test_abort_marks_a_run_it_cannot_signal_stopped(store: TaskStore) -> None:
    run = make_run(
        store,
        status=TaskStatus.in_progress,
        definition={**DAG, "report": {"name": "report", "parents": ["train"], "status": "pending"}},
        runtime={"controller_pid": 4242, "controller_host": "elsewhere.example"},
    )
    load = make_step(store, run, "load", TaskStatus.completed)
    train = make_step(store, run, "train", TaskStatus.in_progress)
    store.put_nodes(
        run.id,
        [
            ("load", {"status": "completed", "job_id": load.id}),
            ("train", {"status": "running", "job_id": train.id}),
        ],
    )
    said = commands.abort_run(store, run.id)
    assert "marked run etl #1" in said and "1 unfinished step task(s) stopped" in said
    assert "runs on host 'elsewhere.example' (pid 4242)" in said
    assert store.get_task(run.id).status == TaskStatus.stopped
    assert store.get_task(train.id).status == TaskStatus.stopped
    nodes = dict(store.get_nodes(run.id))
    assert nodes["train"]["status"] == "aborted" and nodes["report"]["status"] == "skipped"
    assert nodes["load"]["status"] == "completed"
    saved = {c.name: c for c in store.get_configs(run.id)}["Pipeline"]
    assert json.loads(saved.value)["train"]["status"] == "aborted"  # what the UI reads


def test_abort_refuses_its_own_controller(store: TaskStore) -> None:
    run = make_run(
        store,
        status=TaskStatus.in_progress,
        runtime={"controller_pid": os.getpid(), "controller_host": socket.gethostname()},
    )
    with pytest.raises(ExecutionError, match="controlled by this very process"):
        commands.abort_run(store, run.id)


def test_clone_numbers_the_new_run_and_casts_edited_args(store: TaskStore) -> None:
    source = make_run(store, number=4, params={"n": 3, "lr": 0.1}, runtime={"version": "2.0.0", "x": 1})
    store.update_task(source.id, system_tags=("pipeline", "archived"))
    clone = commands.clone_run(store, source.id, {"n": "5"})
    assert (clone.name, clone.status, clone.project) == ("etl #5", TaskStatus.created, source.project)
    assert clone.system_tags == ("pipeline",) and clone.runtime == {"version": "2.0.0"}
    assert store.get_param_dict(clone.id) == {"Args/n": 5, "Args/lr": 0.1}
    assert store.get_param_dict(source.id) == {"Args/n": 3, "Args/lr": 0.1}
    store.create_queue("services")
    with pytest.raises(ExecutionError, match="has no recorded script, so an agent cannot re-run it"):
        commands.enqueue_run(store, source.id)
    store.update_task(source.id, script=ScriptInfo(entry_point="pipe.py", working_dir="/w"))
    queued = commands.enqueue_run(store, source.id, params={"lr": "0.5"})
    assert (queued.name, queued.status, queued.queue) == ("etl #6", TaskStatus.queued, "services")
    # recorded without a step queue (a local run): its steps adopt ``default``, which exists
    assert store.get_param_dict(queued.id)["pipeline/default_queue"] == "default"
    assert "default" in {q.name for q in store.list_queues()}


def test_enqueue_resume_marks_the_run_for_resume_unless_it_completed(store: TaskStore) -> None:
    with pytest.raises(ExecutionError, match="completed; there is nothing to resume"):
        commands.enqueue_resume(store, make_run(store).id)
    dead = make_run(
        store,
        number=2,
        status=TaskStatus.in_progress,
        runtime={"controller_pid": None, "controller_host": socket.gethostname()},
        script=ScriptInfo(entry_point="pipe.py", working_dir="/w"),
    )
    store.create_queue("ctl")
    queued = commands.enqueue_resume(store, dead.id, "ctl")
    assert (queued.status, queued.queue, queued.runtime["_resume"]) == (TaskStatus.queued, "ctl", True)
    remote = make_run(store, number=3, status=TaskStatus.in_progress, runtime={"controller_host": "far"})
    with pytest.raises(ExecutionError, match="on host 'far', which this host cannot check"):
        commands.enqueue_resume(store, remote.id)


def _scripted(store: TaskStore, folder: Path) -> str:
    """A failed run with ``Args/n`` whose recorded script is :data:`SCRIPT` in ``folder``."""
    (folder / "pipe.py").write_text(SCRIPT)
    script = ScriptInfo(entry_point="pipe.py", working_dir=str(folder))
    return make_run(store, status=TaskStatus.failed, script=script, definition=DAG, params={"n": 3}).id


def test_resume_runs_the_recorded_script_attached_to_the_run(store: TaskStore, tmp_path: Path) -> None:
    run_id = _scripted(store, tmp_path)
    seen: list[commands.ResumePlan] = []
    code = commands.resume_run(
        store,
        run_id,
        env={"TASKMILL_STORE": "sqlite:///elsewhere.db"},
        params={"n": "4"},
        recompute=["train"],
        mode="debug",
        announce=seen.append,
    )
    assert code == 3 and seen[0].cwd == str(tmp_path) and seen[0].command[-1] == "pipe.py"
    assert json.loads((tmp_path / "env.json").read_text()) == {
        "TASKMILL_TASK_ID": run_id,
        "TASKMILL_RESUME": "1",
        "TASKMILL_RECOMPUTE": "train",
        "TASKMILL_PIPELINE_MODE": "debug",
        "TASKMILL_STORE": "sqlite:///elsewhere.db",
    }
    assert store.get_param_dict(run_id) == {"Args/n": 4}
    with pytest.raises(NotFoundError, match="has no step"):
        commands.resume_run(store, run_id, recompute=["nope"])
    with pytest.raises(ValueError, match="unknown pipeline mode 'fast'"):
        commands.resume_run(store, run_id, mode="fast")


def test_new_run_clones_the_run_and_runs_its_script(
    store: TaskStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = _scripted(store, tmp_path)
    monkeypatch.setenv("TASKMILL_RESUME", "1")  # left over from a resume: not the new run's
    new_id, code = commands.new_run(store, run_id, params={"n": "9"})
    assert code == 3 and new_id != run_id
    env = json.loads((tmp_path / "env.json").read_text())
    assert env["TASKMILL_TASK_ID"] == new_id and env["TASKMILL_RESUME"] is None
    assert store.get_param_dict(new_id) == {"Args/n": 9, "pipeline/default_queue": "default"}
    assert store.get_task(new_id).name == "etl #2"
