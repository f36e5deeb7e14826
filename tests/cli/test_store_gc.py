"""``taskmill store gc``: files of writers killed mid-write are listed, then removed; a live writer's stay.

Real processes throughout: ``Task.init`` writers write through the artifact layer's atomic files and
are SIGKILLed mid-write (one inside the temporary file, one after the rename but before its record
is committed); a third stays alive mid-write. The CLI runs as its own process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

WRITER = textwrap.dedent(
    """
    import os, sys, time
    from taskmill import Task
    from taskmill.artifacts.transfer import atomic_file
    from taskmill.config import Settings

    mode = sys.argv[1]
    task = Task.init(project_name="gc", task_name=mode)
    task.upload_artifact("kept", {"a": 1}, wait_on_upload=True)  # recorded: gc must keep it
    final = os.path.join(Settings.from_env().artifacts_uri, task.id, "data", "data.bin")
    with atomic_file(final) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(b"x" * 100_000)
        if mode != "renamed":
            print(task.id, tmp, flush=True)  # mid-write: the temporary file is there
            time.sleep(120)
    print(task.id, final, flush=True)  # renamed into place, its record never committed
    time.sleep(120)
    """
)


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKMILL_")}
    env["TASKMILL_HOME"] = str(tmp_path / "home")
    (tmp_path / "writer.py").write_text(WRITER)
    yield env


def _writer(env: dict[str, str], mode: str) -> tuple[subprocess.Popen[str], str]:
    script = Path(env["TASKMILL_HOME"]).parent / "writer.py"
    proc = subprocess.Popen(
        [sys.executable, str(script), mode],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().split()
    assert len(line) == 2, f"writer {mode} did not start"
    return proc, line[1]


def _gc(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "taskmill", "store", "gc", *args],
        env={**env, "COLUMNS": "250"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_gc_lists_then_removes_killed_writers_files_and_keeps_a_live_writers(env: dict[str, str]) -> None:
    killed_tmp, tmp_file = _writer(env, "temporary")
    killed_renamed, orphan = _writer(env, "renamed")
    live, live_tmp = _writer(env, "live")
    try:
        for proc in (killed_tmp, killed_renamed):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        artifacts = Path(env["TASKMILL_HOME"]) / "artifacts"
        kept = [p for p in artifacts.rglob("*") if p.is_file() and "kept" in p.parts]
        assert len(kept) == 3

        listed = _gc(env, "--dry-run", "--min-age", "0")
        assert "Would remove 1 temporary file(s) and 1 unreferenced artifact file(s)" in listed
        assert os.path.relpath(tmp_file, artifacts) in listed
        assert os.path.relpath(orphan, artifacts) in listed
        assert os.path.relpath(live_tmp, artifacts) not in listed
        assert Path(tmp_file).exists() and Path(orphan).exists()  # a dry run removes nothing

        removed = _gc(env, "--min-age", "0")
        assert "Removed 1 temporary file(s) and 1 unreferenced artifact file(s)" in removed
        assert not Path(tmp_file).exists() and not Path(orphan).exists()
        assert Path(live_tmp).exists()  # the live writer's file is still being written
        assert all(p.exists() for p in kept)
        assert "Nothing to collect" in _gc(env, "--min-age", "0")
        assert "Nothing to collect" in _gc(env)  # by default only files older than an hour count
    finally:
        os.killpg(live.pid, signal.SIGKILL)
        live.wait()


def test_gc_help_and_a_missing_store(tmp_path: Path, env: dict[str, str]) -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "taskmill", "store", "gc", "--help"], env=env, capture_output=True, text=True
    )
    assert shown.returncode == 0 and "--dry-run" in shown.stdout and "--min-age" in shown.stdout
    missing = subprocess.run(
        [sys.executable, "-m", "taskmill", "store", "gc", "--dry-run"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert missing.returncode != 0 and "no store at" in missing.stderr
    assert not (Path(env["TASKMILL_HOME"]) / "store.db").exists()  # gc never creates a store
