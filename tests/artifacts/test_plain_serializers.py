"""Serializers of plain Python objects: JSON, text, pickle and user functions round-trip exactly."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from taskmill.artifacts.plain_serializers import (
    CustomSerializer,
    FileSerializer,
    FolderSerializer,
    JsonSerializer,
    PickleSerializer,
    TextSerializer,
)
from taskmill.artifacts.serializer import Serializer
from taskmill.errors import SerializationError


def _round_trip(serializer: Serializer, obj: object, tmp_path: Path) -> Any:
    path = tmp_path / "payload"
    path.touch()
    serializer.dump(obj, str(path))
    return serializer.load(str(path))


@pytest.mark.parametrize("obj", [{"a": [1, 2.5, None, True], "b": {"c": "é"}}, [1, "two", [3]], {}, []])
def test_json_round_trip(obj: object, tmp_path: Path) -> None:
    assert _round_trip(JsonSerializer(), obj, tmp_path) == obj


@pytest.mark.parametrize(
    "obj", [{"a": (1, 2)}, {1: "int key"}, {"x": float("nan")}, {"f": np.float64(1.0)}, [object()]]
)
def test_json_refuses_what_would_not_come_back_equal(obj: object, tmp_path: Path) -> None:
    assert JsonSerializer().matches(obj)
    with pytest.raises(SerializationError):
        _round_trip(JsonSerializer(), obj, tmp_path)


def test_text_round_trip_is_exact(tmp_path: Path) -> None:
    text = "line 1\r\nline 2\nünïcödé\n"
    assert _round_trip(TextSerializer(), text, tmp_path) == text


def test_files_keep_their_name_and_folders_zip(tmp_path: Path) -> None:
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "data.csv").write_text("a,b\n")
    assert FileSerializer().filename("stem", tmp_path / "tree" / "data.csv", ".ignored") == "data.csv"
    assert FolderSerializer().filename("stem", str(tmp_path / "tree"), ".zip") == "tree.zip"
    assert FolderSerializer().preview(tmp_path / "tree") == "folder tree: 1 files"


def test_pickle_round_trip_of_a_lambda(tmp_path: Path) -> None:
    def offset(x: int) -> int:
        return x + 41

    assert _round_trip(PickleSerializer(), offset, tmp_path)(1) == 42


def test_pickle_failure_is_a_serialization_error(tmp_path: Path) -> None:
    with pytest.raises(SerializationError, match="serialization_function"):
        _round_trip(PickleSerializer(), threading.Lock(), tmp_path)


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
