"""Serializers for numpy arrays and pandas DataFrames, with zero-copy reads.

numpy, pandas and pyarrow are imported inside the methods, and only after ``matches`` has seen an
object whose type comes from that library, so ``import taskmill.artifacts`` stays light. Reads
memory-map the file when the format allows it (``.npy``, Arrow IPC): opening a 1 GiB array costs
a page-table update, not a copy. :class:`CsvGzSerializer` is ClearML's DataFrame format, kept for
code written around its round trip (opt in per upload or with a setting; Parquet stays the
default). The interface these implement is in :mod:`taskmill.artifacts.serializer`.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from taskmill.artifacts.hashing import HASH_PREFIX
from taskmill.artifacts.serializer import Serializer, module_root, truncate
from taskmill.errors import SerializationError


def _is_plain_ndarray(obj: object) -> bool:
    """True for a numpy array without Python objects inside (those need pickle)."""
    if module_root(obj) != "numpy":
        return False
    import numpy as np

    return isinstance(obj, np.ndarray) and not obj.dtype.hasobject


def _array_preview(obj: object) -> str:
    shape = getattr(obj, "shape", ())
    dtype = getattr(obj, "dtype", "?")
    return f"ndarray shape={tuple(shape)} dtype={dtype}"


#: arrays at least this large are hashed from memory alongside their write (smaller ones are
#: cheaper to hash from the file than to start a thread for)
_HASH_ALONGSIDE = 1 << 22


class NpySerializer(Serializer):
    """numpy array -> ``.npy``; loads memory-mapped read-only (``np.memmap``), no copy."""

    type_name = "numpy"
    format = "npy"
    extensions = (".npy",)

    def matches(self, obj: object) -> bool:
        return _is_plain_ndarray(obj)

    def dump(self, obj: object, path: str) -> None:
        import numpy as np

        assert isinstance(obj, np.ndarray)  # guaranteed by matches()
        # A real file object lets np.save write the array buffer straight out (ndarray.tofile).
        with open(path, "wb") as handle:
            np.save(handle, obj, allow_pickle=False)

    def dump_hashed(self, obj: object, path: str) -> tuple[str, int] | None:
        import numpy as np

        assert isinstance(obj, np.ndarray)  # guaranteed by matches()
        try:
            data = memoryview(obj).cast("B") if obj.flags.c_contiguous else None  # type: ignore[arg-type]
        except (TypeError, ValueError, BufferError):  # dtypes without a buffer (datetime64)
            data = None
        if data is None or obj.nbytes < _HASH_ALONGSIDE:
            return super().dump_hashed(obj, path)
        # The file is the .npy header, then the array's bytes in C order: hash the header we
        # expect, then the array in memory on a second thread (hashlib and tofile both release
        # the GIL) while np.save writes it, and check the header written was the one hashed.
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(header, np.lib.format.header_data_from_array_1_0(obj))
        expected = header.getvalue()
        digest = hashlib.sha256(expected)
        hasher = threading.Thread(target=digest.update, args=(data,), name="taskmill-npy-hash")
        hasher.start()
        try:
            with open(path, "wb") as handle:
                np.save(handle, obj, allow_pickle=False)
                size = handle.tell()
        finally:
            hasher.join()
        with open(path, "rb") as handle:
            written = handle.read(len(expected))
        if written != expected or size != len(expected) + obj.nbytes:
            return None  # another header layout (numpy version): the file gets hashed instead
        return HASH_PREFIX + digest.hexdigest(), size

    def load(self, path: str) -> Any:
        import numpy as np

        try:
            return np.load(path, mmap_mode="r", allow_pickle=False)
        except ValueError as exc:
            raise SerializationError(f"{path} is not a valid .npy file: {exc}") from exc

    def preview(self, obj: object) -> str:
        return _array_preview(obj)


class NpzSerializer(Serializer):
    """numpy array -> compressed ``.npz`` (ClearML's default; opt in with ``extension_name=".npz"``).

    Smaller on disk, but loading decompresses into memory (no memory map).
    """

    type_name = "numpy"
    format = "npz"
    extensions = (".npz",)

    def matches(self, obj: object) -> bool:
        return _is_plain_ndarray(obj)

    def dump(self, obj: object, path: str) -> None:
        import numpy as np

        assert isinstance(obj, np.ndarray)  # guaranteed by matches()
        with open(path, "wb") as handle:
            np.savez_compressed(handle, array=obj)

    def load(self, path: str) -> Any:
        import numpy as np

        try:
            with np.load(path, allow_pickle=False) as archive:
                return archive[archive.files[0]]
        except (ValueError, KeyError, IndexError) as exc:
            raise SerializationError(f"{path} is not a valid .npz file: {exc}") from exc

    def preview(self, obj: object) -> str:
        return _array_preview(obj)


def _is_dataframe(obj: object) -> bool:
    """True for a pandas DataFrame when pyarrow is there to write it (else pickle takes it)."""
    if module_root(obj) != "pandas":
        return False
    import pandas as pd

    return isinstance(obj, pd.DataFrame) and importlib.util.find_spec("pyarrow") is not None


def _frame_preview(obj: Any) -> str:
    rows, cols = obj.shape
    return truncate(f"DataFrame {rows} rows x {cols} columns\n{obj.head(5).to_string()}")


def _arrow_table(obj: Any) -> Any:
    """DataFrame -> pyarrow Table (keeps the index and pandas dtypes in the schema metadata)."""
    import pyarrow as pa

    try:
        return pa.Table.from_pandas(obj)
    except (pa.ArrowException, ValueError, TypeError) as exc:
        # Mixed-type object columns, non-string column names, ...: pickle can still store it.
        raise SerializationError(f"DataFrame cannot be converted to Arrow: {exc}") from exc


@contextmanager
def _arrow_write_errors() -> Iterator[None]:
    """Arrow refusing a frame (unsupported dtype) is a serialization problem, a full disk is not."""
    import pyarrow as pa

    try:
        yield
    except pa.ArrowException as exc:
        if isinstance(exc, OSError):
            raise
        raise SerializationError(f"DataFrame cannot be written by Arrow: {exc}") from exc


class ParquetSerializer(Serializer):
    """pandas DataFrame -> Parquet (compact, readable by every data tool); loads into memory."""

    type_name = "pandas"
    format = "parquet"
    extensions = (".parquet",)

    def matches(self, obj: object) -> bool:
        return _is_dataframe(obj)

    def dump(self, obj: object, path: str) -> None:
        import pyarrow.parquet as pq

        with _arrow_write_errors():
            pq.write_table(_arrow_table(obj), path)

    def load(self, path: str) -> Any:
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path, memory_map=True)
        except pa.ArrowInvalid as exc:
            raise SerializationError(f"{path} is not a valid Parquet file: {exc}") from exc
        return table.to_pandas()

    def preview(self, obj: object) -> str:
        return _frame_preview(obj)


class ArrowSerializer(Serializer):
    """pandas DataFrame -> Arrow IPC file (``.arrow``/``.feather``); loads memory-mapped.

    Numeric columns without nulls come back as views of the mapped file (``split_blocks=True``
    stops pandas from consolidating them into a fresh copy); they are read-only, and pandas'
    copy-on-write copies a column only when it is modified.
    """

    type_name = "pandas"
    format = "arrow"
    extensions = (".arrow", ".feather")

    def matches(self, obj: object) -> bool:
        return _is_dataframe(obj)

    def dump(self, obj: object, path: str) -> None:
        import pyarrow as pa

        table = _arrow_table(obj)
        with _arrow_write_errors(), pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, table.schema) as w:
            w.write_table(table)

    def load(self, path: str) -> Any:
        import pyarrow as pa

        try:
            # Buffers of the table keep the mapping alive after the file handle is closed.
            with pa.memory_map(path, "r") as source:
                table = pa.ipc.open_file(source).read_all()
        except pa.ArrowInvalid as exc:
            raise SerializationError(f"{path} is not a valid Arrow IPC file: {exc}") from exc
        return table.to_pandas(split_blocks=True)

    def preview(self, obj: object) -> str:
        return _frame_preview(obj)


def _is_pandas_frame(obj: object) -> bool:
    """True for any pandas DataFrame (CSV needs no pyarrow)."""
    if module_root(obj) != "pandas":
        return False
    import pandas as pd

    return isinstance(obj, pd.DataFrame)


class CsvGzSerializer(Serializer):
    """pandas DataFrame -> gzip-compressed CSV with the index as first column (ClearML's format).

    The round trip is ClearML's, on purpose: the file is the one ClearML writes (reading it with a
    plain ``pd.read_csv`` shows the index as an ``"Unnamed: 0"`` column), ``load`` reads the first
    column back as the index, and dtypes are whatever CSV parsing infers (``int32`` -> ``int64``,
    ``float32`` -> ``float64``, categoricals and datetimes -> ``object``).
    Use it when code depends on that; Parquet keeps dtypes exactly. Dumps are deterministic
    (gzip ``mtime=0``), so the same frame always hashes the same. Loads into memory.
    """

    type_name = "pandas"
    format = "csv.gz"
    extensions = (".csv.gz",)

    def matches(self, obj: object) -> bool:
        return _is_pandas_frame(obj)

    def dump(self, obj: object, path: str) -> None:
        # no name, mtime=0: the gzip header would otherwise embed both and change the hash
        with open(path, "wb") as raw, gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as handle:
            obj.to_csv(handle, index=True)  # type: ignore[attr-defined]  # a DataFrame per matches()

    def load(self, path: str) -> Any:
        import pandas as pd

        try:
            return pd.read_csv(path, index_col=[0], compression="gzip")
        except (OSError, ValueError, pd.errors.ParserError) as exc:
            if isinstance(exc, FileNotFoundError):
                raise
            raise SerializationError(f"{path} is not a valid .csv.gz file: {exc}") from exc

    def preview(self, obj: object) -> str:
        return _frame_preview(obj)
