"""Garbage of killed writers: found and removed; a live writer's files and recorded files never."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from taskmill.artifacts import transfer
from taskmill.artifacts.gc import collect, find_garbage
from taskmill.core.model import ArtifactRecord, ModelRecord, TaskRecord, new_id
from taskmill.store.sql.store import SqlTaskStore

OLD = time.time() - 7200


def _file(path: Path, data: bytes = b"x", *, old: bool = True) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if old:
        os.utime(path, (OLD, OLD))
    return path


def test_finds_old_temporary_and_unreferenced_files_only(tmp_path: Path) -> None:
    root = tmp_path / "artifacts"
    kept = _file(root / "p" / "t1" / "data.pkl")
    folder_artifact = _file(root / "p" / "t1" / "images" / "a.png")
    orphan = _file(root / "p" / "t2" / "model.pt", b"12345")
    stale_tmp = _file(root / "p" / "t2" / ".tmp-dead.pt")
    stale_part = _file(root / "p" / ".x.bin.part")
    young_orphan = _file(root / "p" / "t3" / "fresh.bin", old=False)
    young_tmp = _file(root / "p" / "t3" / ".tmp-fresh", old=False)
    referenced = [f"file://{kept}", str(folder_artifact.parent), "s3://bucket/elsewhere"]

    found = find_garbage(str(root), referenced)
    assert set(found.temporary) == {str(stale_tmp), str(stale_part)}
    assert found.unreferenced == (str(orphan),)
    assert found.size == 1 + 1 + 5 and found.dry_run

    assert collect(str(root), referenced).dry_run  # dry run by default: nothing removed
    assert orphan.exists() and stale_tmp.exists()
    done = collect(str(root), referenced, dry_run=False)
    assert not done.dry_run and set(done.paths) == set(found.paths)
    assert not orphan.exists() and not stale_tmp.exists() and not stale_part.exists()
    assert kept.exists() and folder_artifact.exists() and young_orphan.exists() and young_tmp.exists()


def test_a_live_writers_temporary_file_is_never_taken(tmp_path: Path) -> None:
    root = tmp_path / "artifacts"
    with transfer.atomic_file(str(root / "big.bin")) as tmp:
        Path(tmp).write_bytes(b"half")
        os.utime(tmp, (OLD, OLD))  # a slow writer: old, but alive
        assert find_garbage(str(root), [], min_age=0).temporary == ()
        collect(str(root), [], dry_run=False, min_age=0)
        assert Path(tmp).exists()
    assert (root / "big.bin").read_bytes() == b"half"


_WRITER = """
import sys, time
from pathlib import Path
from taskmill.artifacts import transfer
with transfer.atomic_file(sys.argv[1]) as tmp:
    Path(tmp).write_bytes(b"partial")
    print("writing", flush=True)
    time.sleep(60)
"""


def test_files_of_killed_writers_are_collected_beside_a_live_one(tmp_path: Path) -> None:
    """From outside: SIGKILLed writer processes leave temporary files; gc removes exactly those."""
    root = tmp_path / "artifacts"
    writers = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(root / f"a{i}.bin")], stdout=subprocess.PIPE)
        for i in range(3)
    ]
    for w in writers:
        assert w.stdout is not None and w.stdout.readline() == b"writing\n"
    for w in writers[:2]:
        w.send_signal(signal.SIGKILL)
        w.wait(10)
    try:
        leftovers = sorted(p for p in root.iterdir() if p.name.startswith(".tmp-"))
        assert len(leftovers) == 3
        done = collect(str(root), [], dry_run=False, min_age=0)
        assert len(done.temporary) == 2
        remaining = [p for p in root.iterdir() if p.name.startswith(".tmp-")]
        assert len(remaining) == 1  # the live writer's
    finally:
        writers[2].kill()
        writers[2].wait(10)


def test_the_sql_store_lists_what_records_point_at(tmp_path: Path) -> None:
    store = SqlTaskStore(f"sqlite:///{tmp_path}/store.db")
    t = store.create_task(TaskRecord(id=new_id(), name="t", project="p"))
    store.put_artifact(ArtifactRecord(t.id, "a", "/data/a.pkl", "pickle", "pickle", 1))
    store.add_model(ModelRecord(t.id, new_id(), "m", "file:///data/m.pt"))
    assert store.referenced_uris() == {"/data/a.pkl", "file:///data/m.pt"}
    store.close()


def test_a_file_recorded_or_a_writer_started_during_the_walk_is_kept(tmp_path: Path) -> None:
    root = tmp_path / "artifacts"
    late_record = root / "t1" / "model.bin"
    late_writer = root / "t2" / "data.npy"
    stray = root / "t3" / "lost.bin"
    for path in (late_record, late_writer, stray):
        path.parent.mkdir(parents=True)
        path.write_bytes(b"x" * 10)

    def refresh() -> tuple[list[str], list[str]]:
        # meanwhile t1's record was committed and t2 started running
        return [str(late_record)], ["t2"]

    found = collect(str(root), [], dry_run=False, min_age=0, refresh=refresh)
    assert set(found.unreferenced) == {str(late_record), str(late_writer), str(stray)}  # the walk saw all
    assert late_record.exists() and late_writer.exists()
    assert not stray.exists()  # garbage in both looks
