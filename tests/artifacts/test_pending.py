"""Background artifact writes: ``PendingWrites`` ordering and waiting, ``upload_later`` through a
real store, hashing from memory while writing, and a process killed mid-write (complete or none)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

from taskmill.artifacts import ArtifactStore, sha256_file
from taskmill.artifacts.data_serializers import NpySerializer
from taskmill.artifacts.pending import PendingWrites
from taskmill.core.model import ArtifactRecord


def test_readers_of_a_key_wait_for_its_write_and_writes_run_in_order() -> None:
    pending = PendingWrites()
    done: list[str] = []
    first = pending.reserve("a")
    second = pending.reserve("a")
    assert pending.busy()
    waiter = threading.Thread(target=pending.wait, args=("a",))
    waiter.start()
    time.sleep(0.05)
    assert waiter.is_alive()  # nothing started yet: the reader waits
    second(lambda: done.append("second"))
    first(lambda: done.append("first"))
    waiter.join(5)
    pending.wait_all()
    assert done == ["first", "second"] and not pending.busy()


def test_a_cancelled_write_releases_its_readers() -> None:
    pending = PendingWrites()
    start = pending.reserve("k")
    start(None)
    pending.wait("k")
    assert not pending.busy()


def test_upload_later_hands_back_the_record_at_once_and_readers_wait_for_the_bytes(
    store: ArtifactStore,
) -> None:
    array = np.arange(1 << 20, dtype=np.float64)  # 8 MiB: hashed from memory while written
    planned = store.upload_later("t1", "arr", array)
    assert planned is not None
    record = planned.record
    assert record.hash == "" and record.size == 0 and record.format == "npy"
    assert not Path(record.uri).exists()  # nothing written before start
    written: list[tuple[ArtifactRecord | None, BaseException | None]] = []
    planned.start(lambda rec, err: written.append((rec, err)))
    loaded = store.load(record)  # waits for the write
    assert np.array_equal(loaded, array)
    store.flush()
    final, error = written[0]
    assert error is None and final is not None
    assert (final.hash, final.size) == sha256_file(record.uri)  # hashed from memory == the file


def test_only_formats_that_cannot_refuse_go_to_the_background(store: ArtifactStore, tmp_path: Path) -> None:
    assert store.upload_later("t1", "d", {"a": 1}) is None
    assert store.upload_later("t1", "o", np.array([object()], dtype=object)) is None
    remote = ArtifactStore("memory://bucket", str(tmp_path / "c2"))
    assert remote.upload_later("t1", "a", np.ones(3)) is None


def test_npy_hash_from_memory_matches_the_file_for_every_layout(tmp_path: Path) -> None:
    serializer = NpySerializer()
    for i, array in enumerate(
        [
            np.ones((1024, 1024), dtype=np.float32),  # C order, hashed alongside
            np.asfortranarray(np.ones((1024, 1024))),  # F order: the file is hashed
            np.ones(10),  # small: the file is hashed
        ]
    ):
        path = str(tmp_path / f"a{i}.npy")
        hashed = serializer.dump_hashed(array, path)
        if hashed is not None:
            assert hashed == sha256_file(path)
        assert np.array_equal(np.load(path), array)


KILLED_MID_WRITE = """
import os, sys, threading, numpy as np
from taskmill.artifacts import ArtifactStore
store = ArtifactStore(sys.argv[1], sys.argv[2])
planned = store.upload_later("t1", "big", np.ones(1 << 26))  # 512 MiB
print(planned.record.uri, flush=True)
planned.start(lambda rec, err: None)
threading.Timer(0.05, lambda: os._exit(9)).start()  # dies while the bytes are being written
store.flush()
os._exit(0)
"""


def test_a_process_killed_during_a_background_write_leaves_the_whole_artifact_or_none(
    tmp_path: Path,
) -> None:
    out = subprocess.run(
        [sys.executable, "-c", KILLED_MID_WRITE, str(tmp_path / "store"), str(tmp_path / "cache")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    uri = out.stdout.strip()
    assert uri, out.stderr
    final = Path(uri)
    if final.exists():  # it finished before the kill: then it is whole
        assert np.array_equal(np.load(final, mmap_mode="r")[-3:], np.ones(3))
        assert final.stat().st_size == (1 << 26) * 8 + 128
    else:
        assert out.returncode == 9
    leftovers = [p for p in final.parent.glob("*") if p != final] if final.parent.exists() else []
    assert all(p.name.startswith(".") or "tmp" in p.name for p in leftovers)  # only a temporary file
