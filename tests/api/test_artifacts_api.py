"""Artifacts through the Task API: formats, zero-copy reads, hashes, S3 output_uri, StorageManager."""

from __future__ import annotations

import hashlib
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from taskmill import StorageManager, Task
from taskmill.errors import ArtifactMissingError
from tests.plugins.s3 import S3Server


@pytest.fixture(autouse=True)
def _home(tm_home: Path) -> None:
    """Every test here gets its own store and artifact folder."""


def test_upload_and_get_each_format(tmp_path: Path) -> None:
    t = Task.create(project_name="p", task_name="a")
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "x.txt").write_text("inside")
    file = tmp_path / "notes.txt"
    file.write_text("hello")
    objects = {
        "array": np.arange(12.0).reshape(3, 4),
        "frame": pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}),
        "dict": {"k": [1, 2, {"z": None}]},
        "file": str(file),
        "folder": folder,
        "obj": {1, 2, 3},
    }
    for name, obj in objects.items():
        assert t.upload_artifact(name, obj, metadata={"source": name})
    arts = t.artifacts
    assert list(arts) == list(objects)
    np.testing.assert_array_equal(arts["array"].get(), objects["array"])
    pd.testing.assert_frame_equal(arts["frame"].get(), objects["frame"])
    assert arts["dict"].get() == objects["dict"]
    assert Path(arts["file"].get()).read_text() == "hello"
    assert (Path(arts["folder"].get()) / "x.txt").read_text() == "inside"
    assert arts["obj"].get() == {1, 2, 3}
    assert arts["dict"].metadata == {"source": "dict"}
    assert arts["array"].type == "numpy" and arts["frame"].type == "pandas"


def test_numpy_artifact_is_memory_mapped_and_hashed() -> None:
    t = Task.create(project_name="p", task_name="a")
    data = np.random.default_rng(0).normal(size=(256, 64))
    t.upload_artifact("x", data)
    art = t.artifacts["x"]
    loaded = art.get()
    assert isinstance(loaded, np.memmap) and not loaded.flags.writeable
    np.testing.assert_array_equal(loaded, data)
    local = art.get_local_copy()
    assert local == art.url  # local artifacts are never copied
    assert art.hash == "sha256:" + hashlib.sha256(Path(local).read_bytes()).hexdigest()
    assert art.size == Path(local).stat().st_size


def test_custom_serialization_functions() -> None:
    t = Task.create(project_name="p", task_name="a")
    t.upload_artifact("c", {"v": 1}, serialization_function=lambda o: repr(o).encode())
    out = t.artifacts["c"].get(deserialization_function=lambda b: eval(b.decode()))
    assert out == {"v": 1}


def test_missing_bytes_raise_a_clear_error() -> None:
    t = Task.create(project_name="p", task_name="lost")
    t.upload_artifact("gone", np.zeros(3))
    Path(t.artifacts["gone"].url).unlink()
    with pytest.raises(ArtifactMissingError) as err:
        t.artifacts["gone"].get()
    assert t.id in str(err.value) and "gone" in str(err.value)
    assert t.artifacts["gone"].get_local_copy() is None
    with pytest.raises(ArtifactMissingError):
        t.artifacts["gone"].get_local_copy(raise_on_error=True)


def test_unknown_artifact_name_lists_known_ones() -> None:
    t = Task.create(project_name="p", task_name="a")
    t.upload_artifact("have", [1])
    with pytest.raises(KeyError, match="have"):
        t.artifacts["missing"]


def test_output_uri_on_s3(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in s3_server.env.items():
        monkeypatch.setenv(key, value)
    t = Task.create(project_name="p", task_name="s3")
    t.output_uri = s3_server.url("runs")
    t.upload_artifact("weights", np.arange(5.0))
    t.upload_artifact("cfg", {"a": 1})
    art = t.artifacts["weights"]
    assert art.url.startswith(f"s3://{s3_server.bucket}/runs/")
    np.testing.assert_array_equal(art.get(), np.arange(5.0))
    assert t.artifacts["cfg"].get() == {"a": 1}
    local = art.get_local_copy()
    assert local is not None and Path(local).exists()


def test_storage_manager_local_file_s3(
    tmp_path: Path, s3_server: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in s3_server.env.items():
        monkeypatch.setenv(key, value)
    src = tmp_path / "data.csv"
    src.write_text("a,b\n1,2\n")
    assert StorageManager.get_local_copy(str(src)) == str(src)
    assert Path(StorageManager.get_local_copy(src.as_uri())).read_text() == "a,b\n1,2\n"
    remote = StorageManager.upload_file(src, s3_server.url("files", "data.csv"))
    back = StorageManager.get_local_copy(remote)
    assert Path(back).read_text() == "a,b\n1,2\n"


@pytest.fixture
def http_file(tmp_path: Path) -> Iterator[str]:
    root = tmp_path / "www"
    root.mkdir()
    (root / "hello.txt").write_text("served over http")

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a: object, **kw: object) -> None:
            super().__init__(*a, directory=str(root), **kw)  # type: ignore[arg-type]

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hello.txt"
    server.shutdown()
    server.server_close()


def test_storage_manager_http(http_file: str) -> None:
    assert Path(StorageManager.get_local_copy(http_file)).read_text() == "served over http"


def test_dataframe_csv_gz_on_request_and_as_the_configured_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from taskmill.api.session import PROCESS

    frame = pd.DataFrame({"n": np.array([1, 2], dtype="int32")})
    t = Task.create(project_name="p", task_name="frames")
    t.upload_artifact("parquet", frame)
    t.upload_artifact("clearml", frame, extension_name=".csv.gz")
    got = Task.get_task(task_id=t.id).artifacts
    assert got["parquet"].get()["n"].dtype == np.dtype("int32")  # Parquet keeps dtypes
    assert str(got["clearml"].get_local_copy()).endswith(".csv.gz")
    assert got["clearml"].get()["n"].dtype == np.dtype("int64")  # ClearML's widened round trip
    assert list(pd.read_csv(got["clearml"].get_local_copy()).columns) == ["Unnamed: 0", "n"]

    monkeypatch.setenv("TASKMILL_DATAFRAME_FORMAT", "csv.gz")
    PROCESS.reset()  # the setting is read when the session opens its artifact storage
    t2 = Task.create(project_name="p", task_name="frames2")
    t2.upload_artifact("default", frame)
    assert str(Task.get_task(task_id=t2.id).artifacts["default"].get_local_copy()).endswith(".csv.gz")
    # the Parquet artifact of before stays readable under the csv.gz setting
    assert Task.get_task(task_id=t.id).artifacts["parquet"].get()["n"].tolist() == [1, 2]

    monkeypatch.setenv("TASKMILL_DATAFRAME_FORMAT", "xlsx")
    PROCESS.reset()
    with pytest.raises(ValueError, match="TASKMILL_DATAFRAME_FORMAT"):
        Task.create(project_name="p", task_name="x").upload_artifact("bad", frame)
