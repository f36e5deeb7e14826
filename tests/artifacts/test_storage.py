"""ArtifactStore on the local disk and on fsspec's ``memory://`` filesystem, plus plain-URL helpers."""

from __future__ import annotations

import functools
import hashlib
import http.server
import os
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fsspec
import numpy as np
import pandas as pd
import pytest

from taskmill.artifacts import ArtifactStore, transfer
from taskmill.core.model import ArtifactRecord
from taskmill.errors import ArtifactError, ArtifactMissingError, SerializationError

TASK = "0123456789abcdef0123456789abcdef"


def _sha256(path: str) -> str:
    return "sha256:" + hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _mapped_files() -> str:
    """This process's memory mappings (Linux): a zero-copy read shows up here."""
    maps = Path("/proc/self/maps")
    if not maps.exists():
        pytest.skip("needs /proc/self/maps (Linux) to see memory mappings")
    return maps.read_text()


def _address_is_mapped_from(address: int, path: str) -> bool:
    for line in _mapped_files().splitlines():
        fields = line.split()
        if len(fields) >= 6 and fields[5] == os.path.realpath(path):
            low, high = (int(part, 16) for part in fields[0].split("-"))
            if low <= address < high:
                return True
    return False


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A small folder with a nested file and an empty subfolder."""
    root = tmp_path / "inputs" / "dataset"
    (root / "nested").mkdir(parents=True)
    (root / "empty").mkdir()
    (root / "a.txt").write_text("alpha")
    (root / "nested" / "b.bin").write_bytes(bytes(range(256)))
    return root


# -- records and layout ---------------------------------------------------------------------------


def test_record_describes_the_stored_bytes(store: ArtifactStore) -> None:
    record = store.upload(TASK, "weights", np.arange(10.0), metadata={"epoch": 3}, preview="ten floats")
    assert record.uri == os.path.join(store.default_uri, TASK, "weights", "weights.npy")
    assert (record.task_id, record.name, record.type, record.format) == (TASK, "weights", "numpy", "npy")
    assert record.size == os.path.getsize(record.uri)
    assert record.hash == _sha256(record.uri)
    assert record.metadata == {"epoch": 3}
    assert record.preview == "ten floats"
    assert record.mode == "output" and record.timestamp > 0


def test_upload_leaves_no_temporary_files(store: ArtifactStore) -> None:
    record = store.upload(TASK, "table", {"a": 1})
    assert os.listdir(os.path.dirname(record.uri)) == ["table.json"]


def test_stored_files_get_the_usual_permissions(store: ArtifactStore) -> None:
    # Other users (the server, an agent) read artifacts: not mkstemp's owner-only 0600.
    umask = os.umask(0)
    os.umask(umask)
    record = store.upload(TASK, "shared", [1])
    assert os.stat(record.uri).st_mode & 0o777 == 0o666 & ~umask


def test_failed_upload_leaves_no_temporary_files(store: ArtifactStore) -> None:
    def broken(obj: object) -> bytes:
        raise RuntimeError("serializer broke")

    with pytest.raises(SerializationError, match=f"artifact 'x' of task {TASK}.*serializer broke"):
        store.upload(TASK, "x", 1, serialization_function=broken)
    folder = Path(store.default_uri, TASK, "x")
    assert not folder.exists() or list(folder.iterdir()) == []


def test_unsafe_names_stay_inside_the_store(store: ArtifactStore) -> None:
    first = store.upload(TASK, "../../escape/x", 1)
    second = store.upload(TASK, ".._.._escape_x", 2)
    for record in (first, second):
        assert os.path.commonpath([record.uri, store.default_uri]) == store.default_uri
    assert first.uri != second.uri  # sanitized names do not collide
    assert (store.load(first), store.load(second)) == (1, 2)


def test_output_uri_overrides_the_default(store: ArtifactStore, tmp_path: Path) -> None:
    record = store.upload(TASK, "n", 5, output_uri=f"file://{tmp_path}/elsewhere")
    assert record.uri.startswith(str(tmp_path / "elsewhere" / TASK / "n"))
    assert store.load(record) == 5


# -- round trips ----------------------------------------------------------------------------------


def test_numpy_loads_memory_mapped_in_place(store: ArtifactStore) -> None:
    array = np.random.default_rng(0).standard_normal((64, 32))
    record = store.upload(TASK, "array", array)
    back = store.load(record)
    assert isinstance(back, np.memmap)
    assert not back.flags.writeable
    assert back.filename == os.path.realpath(record.uri)  # the stored file itself, not a copy
    assert _address_is_mapped_from(back.__array_interface__["data"][0], record.uri)
    np.testing.assert_array_equal(back, array)
    assert store.local_copy(record) == record.uri


def test_replacing_an_artifact_keeps_open_maps_valid(store: ArtifactStore) -> None:
    old = store.load(store.upload(TASK, "a", np.zeros(1000)))
    new = store.load(store.upload(TASK, "a", np.ones(1000)))
    assert float(old.sum()) == 0.0  # the old inode lives on for its reader (atomic os.replace)
    assert float(new.sum()) == 1000.0


def test_dataframe_parquet_round_trip(store: ArtifactStore) -> None:
    frame = pd.DataFrame({"x": [0.5, None], "label": ["cat", "dog"]}, index=pd.Index(["r1", "r2"]))
    record = store.upload(TASK, "frame", frame)
    assert (record.type, record.format) == ("pandas", "parquet")
    assert record.uri.endswith("frame.parquet")
    pd.testing.assert_frame_equal(store.load(record), frame)


def test_dataframe_arrow_loads_without_copy(store: ArtifactStore) -> None:
    frame = pd.DataFrame({"x": np.arange(5000.0), "label": ["a", "b"] * 2500})
    record = store.upload(TASK, "frame", frame, extension_name=".arrow")
    assert (record.type, record.format) == ("pandas", "arrow")
    back = store.load(record)
    pd.testing.assert_frame_equal(back, frame)
    column = back["x"].to_numpy()
    assert _address_is_mapped_from(column.__array_interface__["data"][0], record.uri)
    assert not column.flags.writeable  # views of the file: modify a .copy()


def test_unstorable_dataframe_falls_back_to_pickle(store: ArtifactStore) -> None:
    frame = pd.DataFrame({"mixed": [1, "two", 3.0]})
    record = store.upload(TASK, "mixed", frame)
    assert record.format == "pickle"
    pd.testing.assert_frame_equal(store.load(record), frame)


@pytest.mark.parametrize(
    ("obj", "kind"),
    [
        ({"lr": 0.1, "layers": [64, 32], "name": "net"}, "json"),
        ([1, 2, 3], "json"),
        ({"pair": (1, 2)}, "pickle"),
        ({1: "a"}, "pickle"),
        ("plain text, not a path", "str"),
        ({1, 2, 3}, "pickle"),
    ],
)
def test_builtin_round_trips(store: ArtifactStore, obj: object, kind: str) -> None:
    record = store.upload(TASK, "obj", obj)
    assert record.type == kind
    back = store.load(record)
    assert back == obj and type(back) is type(obj)


def test_file_artifact_is_a_copy_loaded_as_path(store: ArtifactStore, tree: Path) -> None:
    source = tree / "a.txt"
    record = store.upload(TASK, "notes", str(source))
    assert (record.type, record.format) == ("file", "raw")
    assert record.uri.endswith(os.path.join("notes", "a.txt"))
    back = store.load(record)
    assert isinstance(back, Path) and back.read_text() == "alpha"
    source.write_text("changed later")
    assert back.read_text() == "alpha"  # the artifact is a snapshot


def test_missing_path_object_is_a_value_error(store: ArtifactStore, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no file or folder"):
        store.upload(TASK, "f", tmp_path / "nope.txt")


def test_folder_is_zipped_and_extracted(store: ArtifactStore, tree: Path) -> None:
    record = store.upload(TASK, "dataset", tree)
    assert (record.type, record.format) == ("folder", "zip")
    assert record.uri.endswith("dataset.zip") and zipfile.is_zipfile(record.uri)
    folder = store.load(record)
    assert isinstance(folder, Path) and folder.is_dir()
    assert (folder / "a.txt").read_text() == "alpha"
    assert (folder / "nested" / "b.bin").read_bytes() == bytes(range(256))
    assert (folder / "empty").is_dir()
    assert store.local_copy(record, extract_archive=True) == str(folder)
    assert store.local_copy(record, extract_archive=False) == record.uri


def test_pickle_of_a_local_function(store: ArtifactStore) -> None:
    scale = 3
    record = store.upload(TASK, "fn", lambda x: x * scale)
    assert record.type == "pickle" and record.uri.endswith(".pkl")
    assert store.load(record)(2) == 6


class _BadRepr:
    def __repr__(self) -> str:
        raise RuntimeError("repr is broken")


def test_a_failing_repr_does_not_fail_the_upload(store: ArtifactStore) -> None:
    record = store.upload(TASK, "odd", _BadRepr())
    assert record.preview == "<_BadRepr>"
    assert isinstance(store.load(record), _BadRepr)


def test_custom_functions(store: ArtifactStore) -> None:
    record = store.upload(
        TASK, "model", {"w": 1}, serialization_function=lambda o: repr(o).encode(), extension_name=".txt"
    )
    assert (record.type, record.format) == ("custom", "custom")
    assert record.uri.endswith("model.txt")
    assert Path(record.uri).read_bytes() == b"{'w': 1}"
    assert store.load(record, deserialization_function=lambda b: b.decode()) == "{'w': 1}"
    assert store.load(record) == Path(record.uri)  # no function: the file, as ClearML does


def test_deserialization_function_gets_the_raw_bytes_of_any_format(store: ArtifactStore) -> None:
    record = store.upload(TASK, "cfg", {"a": 1})
    assert store.load(record, deserialization_function=bytes) == b'{"a": 1}'


# -- missing bytes, deletion, errors --------------------------------------------------------------


def test_missing_bytes_name_task_and_artifact(store: ArtifactStore) -> None:
    record = store.upload(TASK, "gone", np.arange(3))
    os.remove(record.uri)
    assert not store.exists(record)
    for read in (store.load, store.local_copy):
        with pytest.raises(ArtifactMissingError) as caught:
            read(record)
        assert caught.value.task_id == TASK and caught.value.name == "gone"
        assert TASK in str(caught.value) and "'gone'" in str(caught.value)


def test_delete_is_idempotent_and_tidies_folders(store: ArtifactStore, tree: Path) -> None:
    record = store.upload(TASK, "dataset", tree)
    extracted = store.load(record)
    assert store.exists(record)
    store.delete(record)
    store.delete(record)
    assert not store.exists(record)
    assert not Path(store.default_uri, TASK).exists()
    assert not extracted.exists()


def test_write_failure_is_an_artifact_error_with_a_hint(store: ArtifactStore, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(ArtifactError) as caught:
        store.upload(TASK, "x", [1], output_uri=str(blocker / "below"))
    message = str(caught.value)
    assert f"artifact 'x' of task {TASK}" in message and "writable" in message
    assert isinstance(caught.value.__cause__, OSError)


def test_corrupt_file_is_a_serialization_error(store: ArtifactStore) -> None:
    record = store.upload(TASK, "cfg", {"a": 1})
    Path(record.uri).write_text("{not json")
    with pytest.raises(SerializationError, match=f"artifact 'cfg' of task {TASK}"):
        store.load(record)


# -- a remote filesystem (fsspec memory://) -------------------------------------------------------


@pytest.fixture
def remote(tmp_path: Path) -> Iterator[str]:
    base = f"memory://taskmill-tests/{tmp_path.name}"
    yield base
    fs = fsspec.filesystem("memory")
    if fs.exists(base):
        fs.rm(base, recursive=True)


def test_remote_round_trip_and_cache(store: ArtifactStore, remote: str, tmp_path: Path) -> None:
    array = np.arange(100, dtype=np.int16)
    record = store.upload(TASK, "arr", array, output_uri=remote)
    assert record.uri == f"{remote}/{TASK}/arr/arr.npy"
    stored = fsspec.filesystem("memory").cat_file(record.uri)
    assert record.hash == "sha256:" + hashlib.sha256(stored).hexdigest()
    # A reader with an empty cache downloads once, then reads the cached file memory-mapped.
    reader = ArtifactStore(str(tmp_path / "unused"), str(tmp_path / "reader-cache"))
    back = reader.load(record)
    assert isinstance(back, np.memmap)
    np.testing.assert_array_equal(back, array)
    local = reader.local_copy(record)
    assert local.startswith(str(tmp_path / "reader-cache")) and local.endswith("arr.npy")
    assert reader.exists(record)


def test_remote_missing_and_overwritten_bytes(store: ArtifactStore, remote: str, tmp_path: Path) -> None:
    record = store.upload(TASK, "cfg", {"v": 1}, output_uri=remote)
    newer = store.upload(TASK, "cfg", {"v": 2}, output_uri=remote)  # same uri, new bytes
    reader = ArtifactStore(str(tmp_path / "unused"), str(tmp_path / "reader-cache"))
    assert reader.load(newer) == {"v": 2}
    with pytest.raises(ArtifactError, match="changed after the artifact was recorded"):
        reader.load(record)
    store.delete(newer)
    with pytest.raises(ArtifactMissingError, match=f"'cfg' of task {TASK}"):
        reader.load(newer, force_download=True)


def test_remote_folder(store: ArtifactStore, remote: str, tree: Path, tmp_path: Path) -> None:
    record = store.upload(TASK, "dataset", tree, output_uri=remote)
    reader = ArtifactStore(str(tmp_path / "unused"), str(tmp_path / "reader-cache"))
    assert (reader.load(record) / "nested" / "b.bin").read_bytes() == bytes(range(256))


# -- plain URLs -----------------------------------------------------------------------------------


def test_upload_file_and_get_local_copy_locally(store: ArtifactStore, tree: Path, tmp_path: Path) -> None:
    source = str(tree / "a.txt")
    target = store.upload_file(source, f"file://{tmp_path}/out/")
    assert target == f"file://{tmp_path}/out/a.txt"
    assert store.get_local_copy(target) == str(tmp_path / "out" / "a.txt")
    assert store.get_local_copy(str(tmp_path / "out" / "a.txt")) == str(tmp_path / "out" / "a.txt")
    with pytest.raises(ArtifactError, match="no file or folder"):
        store.get_local_copy(str(tmp_path / "missing.txt"))
    with pytest.raises(ValueError, match="no file"):
        store.upload_file(str(tmp_path / "missing.txt"), str(tmp_path / "x"))


def test_get_local_copy_extracts_zips(store: ArtifactStore, tree: Path, tmp_path: Path) -> None:
    record = store.upload(TASK, "dataset", tree)
    assert store.get_local_copy(record.uri) == record.uri
    folder = store.get_local_copy(record.uri, extract_archive=True)
    assert Path(folder, "a.txt").read_text() == "alpha"


def test_upload_file_to_a_remote_url(store: ArtifactStore, remote: str, tree: Path) -> None:
    url = store.upload_file(str(tree / "a.txt"), f"{remote}/files/a.txt")
    assert fsspec.filesystem("memory").cat_file(url) == b"alpha"
    assert Path(store.get_local_copy(url)).read_text() == "alpha"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass


@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A real HTTP server on 127.0.0.1 serving ``tmp_path/www``; yields (base URL, folder)."""
    root = tmp_path / "www"
    root.mkdir()
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(root))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_get_local_copy_over_http_is_cached(store: ArtifactStore, http_root: tuple[str, Path]) -> None:
    base, root = http_root
    (root / "data.csv").write_text("a,b\n1,2\n")
    path = store.get_local_copy(f"{base}/data.csv")
    assert path.startswith(store.cache_dir) and path.endswith("data.csv")
    assert Path(path).read_text() == "a,b\n1,2\n"
    (root / "data.csv").unlink()
    assert store.get_local_copy(f"{base}/data.csv") == path  # served from the cache
    with pytest.raises(ArtifactError, match="nothing at"):
        store.get_local_copy(f"{base}/data.csv", force_download=True)


@pytest.mark.parametrize("use_fsspec", [True, False], ids=["fsspec-aiohttp", "urllib"])
def test_http_download_both_ways(use_fsspec: bool, http_root: tuple[str, Path], tmp_path: Path) -> None:
    base, root = http_root
    payload = os.urandom(3 << 20)  # several chunks
    (root / "blob.bin").write_bytes(payload)
    dest = str(tmp_path / "blob.bin")
    transfer.download_http(f"{base}/blob.bin", dest, use_fsspec=use_fsspec)
    assert Path(dest).read_bytes() == payload
    with pytest.raises(FileNotFoundError):
        transfer.download_http(f"{base}/absent.bin", dest, use_fsspec=use_fsspec)


def test_cannot_upload_to_http(store: ArtifactStore, tree: Path) -> None:
    with pytest.raises(ValueError, match="read-only"):
        store.upload_file(str(tree / "a.txt"), "http://127.0.0.1:9/x")


def test_records_are_plain_values(store: ArtifactStore) -> None:
    record = store.upload(TASK, "v", [1])
    assert ArtifactRecord(**record.to_dict()) == record  # what the task store keeps is enough
