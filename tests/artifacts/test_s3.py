"""ArtifactStore against a real S3 endpoint (moto_server started by ``tests.plugins.s3``)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped]
import numpy as np
import pandas as pd
import pytest

from taskmill.artifacts import ArtifactStore
from taskmill.errors import ArtifactError, ArtifactMissingError
from tests.plugins.s3 import S3Server, subprocess_env

pytestmark = pytest.mark.s3

TASK = "fedcba9876543210fedcba9876543210"


@pytest.fixture
def prefix(s3_server: S3Server) -> str:
    """A fresh ``s3://bucket/<random>`` base per test, so tests never see each other's objects."""
    return s3_server.url(uuid.uuid4().hex)


def _store(s3_server: S3Server, tmp_path: Path, cache: str = "cache") -> ArtifactStore:
    return ArtifactStore(str(tmp_path / "local"), str(tmp_path / cache), s3_server.storage_options)


def _client(s3_server: S3Server) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=s3_server.endpoint_url,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name="us-east-1",
    )


def _object_bytes(s3_server: S3Server, url: str) -> bytes:
    bucket, key = url.removeprefix("s3://").split("/", 1)
    body: bytes = _client(s3_server).get_object(Bucket=bucket, Key=key)["Body"].read()
    return body


def test_numpy_round_trip_through_s3(s3_server: S3Server, prefix: str, tmp_path: Path) -> None:
    array = np.arange(1000, dtype=np.float64).reshape(10, 100)
    record = _store(s3_server, tmp_path).upload(TASK, "features", array, output_uri=prefix)
    assert record.uri == f"{prefix}/{TASK}/features/features.npy"
    assert record.hash == "sha256:" + hashlib.sha256(_object_bytes(s3_server, record.uri)).hexdigest()
    reader = _store(s3_server, tmp_path, cache="reader-cache")  # empty cache: must download
    back = reader.load(record)
    assert isinstance(back, np.memmap) and not back.flags.writeable  # mapped from the cache file
    np.testing.assert_array_equal(back, array)
    local = reader.local_copy(record)
    assert local.startswith(str(tmp_path / "reader-cache")) and Path(local).stat().st_size == record.size


def test_dataframe_and_json_through_s3(s3_server: S3Server, prefix: str, tmp_path: Path) -> None:
    store = _store(s3_server, tmp_path)
    frame = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    frame_record = store.upload(TASK, "frame", frame, output_uri=prefix)
    config_record = store.upload(TASK, "config", {"lr": 0.01, "tags": ["a"]}, output_uri=prefix)
    assert json.loads(_object_bytes(s3_server, config_record.uri)) == {"lr": 0.01, "tags": ["a"]}
    reader = _store(s3_server, tmp_path, cache="reader-cache")
    pd.testing.assert_frame_equal(reader.load(frame_record), frame)
    assert reader.load(config_record) == {"lr": 0.01, "tags": ["a"]}


def test_folder_through_s3(s3_server: S3Server, prefix: str, tmp_path: Path) -> None:
    folder = tmp_path / "images"
    (folder / "train").mkdir(parents=True)
    (folder / "train" / "0.png").write_bytes(b"\x89PNG fake")
    record = _store(s3_server, tmp_path).upload(TASK, "images", folder, output_uri=prefix)
    reader = _store(s3_server, tmp_path, cache="reader-cache")
    extracted = reader.load(record)
    assert (extracted / "train" / "0.png").read_bytes() == b"\x89PNG fake"
    assert reader.local_copy(record, extract_archive=False).endswith("images.zip")


def test_missing_object_and_delete(s3_server: S3Server, prefix: str, tmp_path: Path) -> None:
    store = _store(s3_server, tmp_path)
    record = store.upload(TASK, "model", {"w": [1, 2]}, output_uri=prefix)
    assert store.exists(record)
    bucket, key = record.uri.removeprefix("s3://").split("/", 1)
    _client(s3_server).delete_object(Bucket=bucket, Key=key)
    assert not store.exists(record)
    reader = _store(s3_server, tmp_path, cache="reader-cache")
    with pytest.raises(ArtifactMissingError) as caught:
        reader.load(record)
    assert (caught.value.task_id, caught.value.name, caught.value.uri) == (TASK, "model", record.uri)
    store.delete(record)  # idempotent: already gone
    assert not store.exists(record)


def test_upload_file_and_get_local_copy(s3_server: S3Server, prefix: str, tmp_path: Path) -> None:
    store = _store(s3_server, tmp_path)
    source = tmp_path / "report.csv"
    source.write_text("x,y\n1,2\n")
    url = store.upload_file(str(source), f"{prefix}/reports/")
    assert url == f"{prefix}/reports/report.csv"
    assert _object_bytes(s3_server, url) == b"x,y\n1,2\n"
    local = _store(s3_server, tmp_path, cache="reader-cache").get_local_copy(url)
    assert Path(local).read_text() == "x,y\n1,2\n"
    with pytest.raises(ArtifactError, match="nothing at"):
        store.get_local_copy(f"{prefix}/reports/absent.csv")


def test_missing_bucket_is_an_artifact_error_with_a_hint(s3_server: S3Server, tmp_path: Path) -> None:
    with pytest.raises(ArtifactError) as caught:
        _store(s3_server, tmp_path).upload(TASK, "x", [1], output_uri="s3://no-such-bucket-here/p")
    message = str(caught.value)
    assert f"artifact 'x' of task {TASK}" in message and "bucket exists" in message


def test_credentials_from_the_environment(s3_server: S3Server, prefix: str, tmp_path: Path) -> None:
    # A subprocess, so AWS_* reach botocore the normal way without touching this process' environment.
    code = (
        "import sys\n"
        "from taskmill.artifacts import ArtifactStore\n"
        "store = ArtifactStore(sys.argv[1], sys.argv[2])\n"
        "record = store.upload('t' * 32, 'env', {'ok': True})\n"
        "fresh = ArtifactStore(sys.argv[1], sys.argv[2] + '-fresh')\n"
        "assert fresh.load(record) == {'ok': True}\n"
        "print(record.uri)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, prefix, str(tmp_path / "cache")],
        env=subprocess_env(s3_server),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{prefix}/{'t' * 32}/env/env.json"
