"""Serializers on their own: which one an object gets, and that each format round-trips."""

from __future__ import annotations

import collections
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from taskmill.artifacts import CustomSerializer, Serializer, default_registry
from taskmill.artifacts.serializers import PREVIEW_LIMIT, normalize_extension
from taskmill.errors import SerializationError


def _chosen(obj: object, extension: str | None = None) -> str:
    return default_registry().candidates(obj, extension)[0].format


def _round_trip(serializer: Serializer, obj: object, tmp_path: Path) -> Any:
    path = tmp_path / "payload"
    path.touch()
    serializer.dump(obj, str(path))
    return serializer.load(str(path))


# -- choice by type -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (np.arange(3.0), "npy"),
        (np.array([1, "a", None], dtype=object), "pickle"),  # Python objects inside: npy cannot mmap them
        (pd.DataFrame({"a": [1]}), "parquet"),
        (pd.Series([1, 2]), "pickle"),
        ({"a": 1}, "json"),
        ([1, 2], "json"),
        ((1, 2), "pickle"),
        (collections.OrderedDict(a=1), "pickle"),  # a subclass would come back as a plain dict
        ("just some text", "text"),
        (b"raw", "pickle"),
        (3.5, "pickle"),
    ],
)
def test_default_format_follows_the_type(obj: object, expected: str) -> None:
    assert _chosen(obj) == expected


def test_existing_paths_are_files_or_folders(tmp_path: Path) -> None:
    file = tmp_path / "data.csv"
    file.write_text("a,b\n")
    assert _chosen(str(file)) == "raw"
    assert _chosen(file) == "raw"
    assert _chosen(str(tmp_path)) == "zip"
    assert _chosen(tmp_path) == "zip"
    assert _chosen(str(tmp_path / "missing.csv")) == "text"  # a str naming nothing is just text


@pytest.mark.parametrize(
    ("obj", "extension", "expected"),
    [
        (np.arange(3.0), ".npz", "npz"),
        (np.arange(3.0), "pkl", "pickle"),
        (pd.DataFrame({"a": [1]}), ".arrow", "arrow"),
        (pd.DataFrame({"a": [1]}), ".feather", "arrow"),
        ({"a": 1}, ".pkl", "pickle"),
        ({"a": 1}, ".JSON", "json"),
    ],
)
def test_extension_name_forces_a_format(obj: object, extension: str, expected: str) -> None:
    assert _chosen(obj, extension) == expected


def test_unknown_extension_lists_the_choices() -> None:
    with pytest.raises(ValueError, match=r"\.csv.*\.npy.*\.npz.*\.pkl"):
        default_registry().candidates(np.arange(3), ".csv")


def test_normalize_extension() -> None:
    assert normalize_extension("PKL") == ".pkl"
    assert normalize_extension(".npz") == ".npz"


# -- round trips ----------------------------------------------------------------------------------


def test_npy_loads_read_only_memory_map(tmp_path: Path) -> None:
    array = np.arange(12.0).reshape(3, 4)
    back = _round_trip(default_registry().candidates(array)[0], array, tmp_path)
    assert isinstance(back, np.memmap)
    assert not back.flags.writeable
    np.testing.assert_array_equal(back, array)


def test_npz_round_trip(tmp_path: Path) -> None:
    array = np.arange(10, dtype=np.int32)
    back = _round_trip(default_registry().candidates(array, ".npz")[0], array, tmp_path)
    np.testing.assert_array_equal(back, array)
    assert back.dtype == np.int32


@pytest.mark.parametrize("extension", [".parquet", ".arrow"])
def test_dataframe_round_trip_keeps_index_and_dtypes(extension: str, tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"x": [1.5, 2.5, None], "n": [1, 2, 3], "s": ["a", "b", "c"]},
        index=pd.Index([10, 20, 30], name="row"),
    )
    back = _round_trip(default_registry().candidates(frame, extension)[0], frame, tmp_path)
    pd.testing.assert_frame_equal(back, frame)


@pytest.mark.parametrize("obj", [{"a": [1, 2.5, None, True], "b": {"c": "é"}}, [1, "two", [3]], {}, []])
def test_json_round_trip(obj: object, tmp_path: Path) -> None:
    serializer = default_registry().candidates(obj)[0]
    assert serializer.format == "json"
    assert _round_trip(serializer, obj, tmp_path) == obj


@pytest.mark.parametrize(
    "obj", [{"a": (1, 2)}, {1: "int key"}, {"x": float("nan")}, {"f": np.float64(1.0)}, [object()]]
)
def test_json_refuses_what_would_not_come_back_equal(obj: object, tmp_path: Path) -> None:
    json_serializer = default_registry().candidates(obj)[0]
    assert json_serializer.format == "json"
    with pytest.raises(SerializationError):
        _round_trip(json_serializer, obj, tmp_path)


def test_text_round_trip_is_exact(tmp_path: Path) -> None:
    text = "line 1\r\nline 2\nünïcödé\n"
    assert _round_trip(default_registry().candidates(text)[0], text, tmp_path) == text


def test_pickle_round_trip_of_a_lambda(tmp_path: Path) -> None:
    def offset(x: int) -> int:
        return x + 41

    serializer = default_registry().candidates(offset)[0]
    assert serializer.format == "pickle"
    assert _round_trip(serializer, offset, tmp_path)(1) == 42


def test_pickle_failure_is_a_serialization_error(tmp_path: Path) -> None:
    with pytest.raises(SerializationError, match="serialization_function"):
        _round_trip(default_registry().candidates(threading.Lock())[0], threading.Lock(), tmp_path)


def test_custom_functions_round_trip(tmp_path: Path) -> None:
    serializer = CustomSerializer(lambda obj: obj.encode("ascii"), lambda data: data.decode("ascii").upper())
    assert _round_trip(serializer, "abc", tmp_path) == "ABC"


def test_custom_function_must_return_bytes(tmp_path: Path) -> None:
    with pytest.raises(SerializationError, match="must return bytes"):
        _round_trip(CustomSerializer(lambda obj: "not bytes"), "x", tmp_path)  # type: ignore[arg-type,return-value]


def test_custom_function_errors_are_wrapped(tmp_path: Path) -> None:
    def broken(obj: object) -> bytes:
        raise RuntimeError("boom")

    with pytest.raises(SerializationError, match="boom"):
        _round_trip(CustomSerializer(broken), "x", tmp_path)


# -- previews -------------------------------------------------------------------------------------


def test_previews_describe_the_object(tmp_path: Path) -> None:
    registry = default_registry()
    array = np.zeros((2, 3), dtype=np.float32)
    assert registry.candidates(array)[0].preview(array) == "ndarray shape=(2, 3) dtype=float32"
    frame = pd.DataFrame({"col": range(100)})
    preview = registry.candidates(frame)[0].preview(frame)
    assert preview.startswith("DataFrame 100 rows x 1 columns") and "col" in preview
    assert "99" not in preview  # only the head
    long_list = list(range(10_000))
    preview = registry.candidates(long_list)[0].preview(long_list)
    assert len(preview) == PREVIEW_LIMIT and preview.endswith("…")


# -- laziness -------------------------------------------------------------------------------------


def test_import_does_not_load_numpy_or_pandas() -> None:
    code = (
        "import sys, taskmill.artifacts\n"
        "store = taskmill.artifacts.ArtifactStore('/tmp/unused', '/tmp/unused-cache')\n"
        "heavy = sorted(m for m in ('numpy', 'pandas', 'pyarrow') if m in sys.modules)\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_choosing_for_plain_objects_does_not_load_numpy_or_pandas() -> None:
    code = (
        "import sys\n"
        "from taskmill.artifacts import default_registry\n"
        "registry = default_registry()\n"
        "for obj in ({'a': 1}, [1], 'text', 3, object()):\n"
        "    registry.candidates(obj)\n"
        "print(','.join(m for m in ('numpy', 'pandas', 'pyarrow') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
