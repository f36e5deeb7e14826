"""``taskmill tasks abort|clone|delete|archive`` and ``tasks artifacts get`` on a real store."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from taskmill.core.model import ArtifactRecord
from taskmill.core.states import TaskStatus
from taskmill.errors import TaskNotFoundError
from taskmill.store.base import TaskStore
from taskmill.store.factory import open_store
from tests.cli.conftest import Cli, World


def test_abort_queued_running_draft_and_ended(cli: Cli, world: World, store: TaskStore) -> None:
    queued = cli("tasks", "abort", world.prep[:8])
    assert queued.exit_code == 0, queued.output
    assert "was Pending; removed from its queue" in queued.stdout
    assert store.get_task(world.prep).status == TaskStatus.stopped
    assert store.queue_entries("default") == []

    running = cli("tasks", "abort", world.evaluate)
    assert running.exit_code == 0 and "it runs outside an agent" in running.stdout
    assert store.get_task(world.evaluate).status == TaskStatus.stopped

    draft = cli("tasks", "abort", world.draft)
    assert draft.exit_code == 1 and "is a draft: it never started" in draft.stderr
    ended = cli("tasks", "abort", world.train)
    assert ended.exit_code == 0 and "already ended: Completed; nothing to abort" in ended.stdout


def test_clone_copies_params_and_can_enqueue(cli: Cli, world: World, store: TaskStore) -> None:
    result = cli("tasks", "clone", world.train, "--name", "train again")
    assert result.exit_code == 0, result.output
    new_id = result.stdout.strip().splitlines()[-1]
    copy = store.get_task(new_id)
    assert copy.name == "train again" and copy.status == TaskStatus.created and copy.parent == world.train
    assert store.get_param_dict(new_id) == store.get_param_dict(world.train)
    assert store.get_artifacts(new_id) == []  # outputs are not copied

    queued = cli("tasks", "clone", world.train, "--queue", "default", "--json")
    assert queued.exit_code == 0, queued.output
    assert '"status": "queued"' in queued.stdout


def test_delete_refuses_live_tasks_unless_forced(cli: Cli, world: World, store: TaskStore) -> None:
    refused = cli("tasks", "delete", world.prep)
    assert refused.exit_code == 1
    assert "is Pending; abort it first (`taskmill tasks abort" in refused.stderr
    assert cli("tasks", "delete", world.prep, "--force").exit_code == 0
    deleted = cli("tasks", "delete", world.draft)
    assert deleted.exit_code == 0 and "Deleted task draft sweep" in deleted.stdout
    for task_id in (world.prep, world.draft):
        try:
            store.get_task(task_id)
        except TaskNotFoundError:
            continue
        raise AssertionError(f"task {task_id} still exists")


def test_archive_and_restore(cli: Cli, world: World, store: TaskStore) -> None:
    assert cli("tasks", "archive", world.train).exit_code == 0
    assert cli("tasks", "archive", world.train).exit_code == 0  # idempotent
    assert store.get_task(world.train).system_tags.count("archived") == 1
    restored = cli("tasks", "archive", world.train, "--restore")
    assert restored.exit_code == 0 and "Restored task train resnet" in restored.stdout
    assert "archived" not in store.get_task(world.train).system_tags


def test_artifacts_get_copies_the_file(cli: Cli, world: World, store: TaskStore, tmp_path: Path) -> None:
    source = tmp_path / "weights.bin"
    source.write_bytes(b"\x00weights\xff")
    store.put_artifact(ArtifactRecord(world.draft, "blob", source.as_uri(), type="file", format="raw"))
    out = tmp_path / "out"
    out.mkdir()
    result = cli("tasks", "artifacts", "get", world.draft, "blob", "--to", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(out / "weights.bin")
    assert (out / "weights.bin").read_bytes() == b"\x00weights\xff"

    renamed = cli("tasks", "artifacts", "get", world.draft, "blob", "--to", str(tmp_path / "x" / "w.bin"))
    assert renamed.exit_code == 0 and (tmp_path / "x" / "w.bin").read_bytes() == source.read_bytes()

    missing = cli("tasks", "artifacts", "get", world.draft, "nope")
    assert missing.exit_code == 1
    assert "has no artifact 'nope' (it has: blob)" in missing.stderr


def test_abort_stops_a_task_running_on_a_real_agent(tmp_path: Path) -> None:
    taskmill = str(Path(sys.executable).with_name("taskmill"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKMILL_")}
    env["TASKMILL_HOME"] = str(tmp_path / "home")
    script = tmp_path / "sleepy.py"
    script.write_text("import time\nprint('sleeping', flush=True)\ntime.sleep(120)\n")
    sent = subprocess.run(
        [taskmill, "run-remote", str(script), "-q", "default"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert sent.returncode == 0, sent.stderr
    task_id = sent.stdout.strip()
    agent = subprocess.Popen(
        [taskmill, "agent", "-q", "default", "--max-tasks", "1"], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        store = open_store(f"sqlite:///{tmp_path / 'home' / 'store.db'}")
        try:
            deadline = time.monotonic() + 60
            while store.get_task(task_id).status != TaskStatus.in_progress:
                assert time.monotonic() < deadline, "the agent never started the task"
                time.sleep(0.1)
            aborted = subprocess.run(
                [taskmill, "tasks", "abort", task_id[:8]], env=env, capture_output=True, text=True, timeout=60
            )
            assert aborted.returncode == 0, aborted.stderr
            assert "(was Running; agent " in aborted.stdout and "stops its process" in aborted.stdout
            assert agent.wait(60) == 0  # --max-tasks 1: the agent ends once the killed task is done
            assert store.get_task(task_id).status == TaskStatus.stopped
        finally:
            store.close()
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.wait()
