"""Artifact bytes streamed through the server: any size, in chunks, never held whole in memory."""

from __future__ import annotations

import hashlib
import os
import tracemalloc
from pathlib import Path

import httpx
import pytest

from taskmill.core.model import ArtifactRecord, TaskRecord, new_id
from taskmill.errors import ArtifactMissingError, NotFoundError, TaskNotFoundError
from taskmill.store.http import HttpTaskStore
from tests.plugins.s3 import S3Server
from tests.server.harness import Served, served

SIZE = 50 * 1024 * 1024


def _big_file(path: Path, size: int) -> str:
    sha = hashlib.sha256()
    block = os.urandom(1 << 20)
    with open(path, "wb") as fh:
        for _ in range(size // len(block)):
            fh.write(block)
            sha.update(block)
    return "sha256:" + sha.hexdigest()


def test_50mb_round_trip_with_bounded_memory(tmp_path: Path, server: Served, remote: HttpTaskStore) -> None:
    task = remote.create_task(TaskRecord(id=new_id(), name="big", project="p"))
    source = tmp_path / "weights.bin"
    digest = _big_file(source, SIZE)

    tracemalloc.start()
    try:
        uri, size, stored_hash = remote.upload_artifact_content(task.id, "weights", source)
        _, upload_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        remote.put_artifact(ArtifactRecord(task.id, "weights", uri, "file", "raw", size, stored_hash))
        back = remote.download_artifact_content(task.id, "weights", tmp_path / "back.bin")
        _, download_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert (size, stored_hash) == (SIZE, digest)
    assert uri.startswith(server.artifacts.default_uri) and Path(uri).stat().st_size == SIZE
    assert back.stat().st_size == SIZE and _hash(back) == digest
    # Client and server run in this process: both sides together stay far below the file size.
    print(
        f"peak traced memory: upload {upload_peak / 2**20:.1f} MiB, download {download_peak / 2**20:.1f} MiB"
    )
    assert upload_peak < 8 * 1024 * 1024, upload_peak
    assert download_peak < 8 * 1024 * 1024, download_peak
    assert not [p for p in Path(uri).parent.iterdir() if p.name.startswith(".tmp-")]


def _hash(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            sha.update(block)
    return "sha256:" + sha.hexdigest()


def test_download_answers_with_the_hash_header(
    api: httpx.Client, remote: HttpTaskStore, tmp_path: Path
) -> None:
    task = remote.create_task(TaskRecord(id=new_id(), name="t", project="p"))
    r = api.put(f"/tasks/{task.id}/artifacts/a%2Fb/content", params={"filename": "x y.txt"}, content=b"hello")
    assert r.status_code == 200, r.text
    stored = r.json()
    assert stored["size"] == 5 and Path(stored["uri"]).read_bytes() == b"hello"
    remote.put_artifact(ArtifactRecord(task.id, "a/b", stored["uri"], "file", "raw", 5, stored["hash"]))
    got = api.get(f"/tasks/{task.id}/artifacts/a%2Fb/content")
    assert got.content == b"hello" and got.headers["x-taskmill-hash"] == stored["hash"]


def test_missing_things_are_404(remote: HttpTaskStore, tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"x")
    with pytest.raises(TaskNotFoundError, match="f" * 32):
        remote.upload_artifact_content("f" * 32, "a", tmp_path / "f")
    task = remote.create_task(TaskRecord(id=new_id(), name="t", project="p"))
    with pytest.raises(NotFoundError, match="no artifact named 'nope'"):
        remote.download_artifact_content(task.id, "nope", tmp_path / "out")
    gone = str(tmp_path / "server-artifacts" / "deleted.bin")  # inside the server's location
    remote.put_artifact(ArtifactRecord(task.id, "gone", gone, "file", "raw", 1))
    with pytest.raises(ArtifactMissingError, match="bytes are gone"):
        remote.download_artifact_content(task.id, "gone", tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.s3
def test_upload_to_s3_artifacts_through_the_server(tmp_path: Path, s3_server: S3Server) -> None:
    base = s3_server.url("through-server", new_id())
    with served(
        f"sqlite:///{tmp_path}/s.db", tmp_path, artifacts_uri=base, storage_options=s3_server.storage_options
    ) as server:
        remote = HttpTaskStore(server.url)
        task = remote.create_task(TaskRecord(id=new_id(), name="t", project="p"))
        digest = _big_file(tmp_path / "m.bin", 3 * 1024 * 1024)
        uri, size, stored_hash = remote.upload_artifact_content(task.id, "model", tmp_path / "m.bin")
        assert uri.startswith(base) and stored_hash == digest
        remote.put_artifact(ArtifactRecord(task.id, "model", uri, "file", "raw", size, stored_hash))
        back = remote.download_artifact_content(task.id, "model", tmp_path / "back.bin")
        assert _hash(back) == digest
        assert remote.server_info()["artifacts_uri"] == base
        remote.close()
