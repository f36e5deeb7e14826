"""numpy and pandas serializers: exact round trips, zero-copy reads, previews."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from taskmill.artifacts.data_serializers import (
    ArrowSerializer,
    NpySerializer,
    NpzSerializer,
    ParquetSerializer,
)
from taskmill.artifacts.serializer import Serializer
from taskmill.errors import SerializationError


def _round_trip(serializer: Serializer, obj: object, tmp_path: Path) -> Any:
    path = tmp_path / "payload"
    path.touch()
    serializer.dump(obj, str(path))
    return serializer.load(str(path))


def test_npy_loads_read_only_memory_map(tmp_path: Path) -> None:
    array = np.arange(12.0).reshape(3, 4)
    back = _round_trip(NpySerializer(), array, tmp_path)
    assert isinstance(back, np.memmap)
    assert not back.flags.writeable
    np.testing.assert_array_equal(back, array)


def test_npz_round_trip(tmp_path: Path) -> None:
    array = np.arange(10, dtype=np.int32)
    back = _round_trip(NpzSerializer(), array, tmp_path)
    np.testing.assert_array_equal(back, array)
    assert back.dtype == np.int32


def test_arrays_of_python_objects_are_not_theirs() -> None:
    objects = np.array([1, "a", None], dtype=object)
    assert not NpySerializer().matches(objects) and not NpzSerializer().matches(objects)
    assert NpySerializer().matches(np.arange(3))


@pytest.mark.parametrize("serializer", [ParquetSerializer(), ArrowSerializer()])
def test_dataframe_round_trip_keeps_index_and_dtypes(serializer: Serializer, tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"x": [1.5, 2.5, None], "n": [1, 2, 3], "s": ["a", "b", "c"]},
        index=pd.Index([10, 20, 30], name="row"),
    )
    back = _round_trip(serializer, frame, tmp_path)
    pd.testing.assert_frame_equal(back, frame)


def test_a_frame_arrow_cannot_convert_is_a_serialization_error(tmp_path: Path) -> None:
    mixed = pd.DataFrame({"m": [1, "two", 3.0]})
    with pytest.raises(SerializationError, match="Arrow"):
        _round_trip(ParquetSerializer(), mixed, tmp_path)


def test_a_corrupt_file_is_a_serialization_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.write_bytes(b"not an array")
    with pytest.raises(SerializationError, match="npy"):
        NpySerializer().load(str(bad))


def test_previews_describe_the_object() -> None:
    array = np.zeros((2, 3), dtype=np.float32)
    assert NpySerializer().preview(array) == "ndarray shape=(2, 3) dtype=float32"
    frame = pd.DataFrame({"col": range(100)})
    preview = ParquetSerializer().preview(frame)
    assert preview.startswith("DataFrame 100 rows x 1 columns") and "col" in preview
    assert "99" not in preview  # only the head


def test_csv_gz_is_clearmls_round_trip_index_first_and_widened_dtypes(tmp_path: Path) -> None:
    import gzip

    from taskmill.artifacts.data_serializers import CsvGzSerializer

    frame = pd.DataFrame({"a": np.arange(3, dtype="int32"), "b": [1.5, None, 2.0]}, index=[10, 11, 12])
    serializer = CsvGzSerializer()
    assert serializer.matches(frame) and not serializer.matches({"a": 1})
    first, second = tmp_path / "1.csv.gz", tmp_path / "2.csv.gz"
    serializer.dump(frame, str(first))
    serializer.dump(frame, str(second))
    assert first.read_bytes() == second.read_bytes()  # deterministic: same frame, same hash
    with gzip.open(first, "rt") as handle:
        assert handle.readline().strip() == ",a,b"  # the index is the unnamed first column
    assert list(pd.read_csv(first).columns) == ["Unnamed: 0", "a", "b"]
    back = serializer.load(str(first))
    assert list(back.index) == [10, 11, 12] and str(back["a"].dtype) == "int64"
    assert np.isnan(back["b"][11])
    (tmp_path / "bad.csv.gz").write_bytes(b"not gzip")
    with pytest.raises(SerializationError):
        serializer.load(str(tmp_path / "bad.csv.gz"))
