"""Serializers for plain Python objects: files, folders, JSON, text, pickle, user functions.

They need only the standard library and cloudpickle. Each refuses (``SerializationError``) what
its format would not give back unchanged, so the storage falls back to the next candidate and
ultimately to pickle, which takes anything picklable. All are stateless and thread-safe.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cloudpickle

from taskmill.artifacts.serializer import Serializer, truncate
from taskmill.errors import SerializationError


def _fspath(obj: object) -> str:
    """``obj`` (a ``str`` or ``os.PathLike``, as ``matches`` checked) as a ``str`` path."""
    if not isinstance(obj, str | os.PathLike):
        raise TypeError(f"expected a path, got {type(obj).__qualname__}")
    path = os.fspath(obj)
    return path if isinstance(path, str) else os.fsdecode(path)


class FileSerializer(Serializer):
    """An existing file (``str`` path or ``os.PathLike``) stored as-is; loads as a ``Path``."""

    type_name = "file"
    format = "raw"
    extensions = ()  # keeps the source file's name, whatever extension_name says

    def matches(self, obj: object) -> bool:
        # A PathLike is always meant as a path (a missing one is an error, raised by dump); a str
        # only counts as a path when that file exists, as in ClearML.
        if isinstance(obj, os.PathLike):
            return not os.path.isdir(obj)
        return isinstance(obj, str) and os.path.isfile(obj)

    def dump(self, obj: object, path: str) -> None:
        source = _fspath(obj)
        if not os.path.isfile(source):
            raise ValueError(f"no file or folder at '{source}'; pass the path of an existing file")
        shutil.copyfile(source, path)

    def load(self, path: str) -> Any:
        return Path(path)

    def preview(self, obj: object) -> str:
        source = _fspath(obj)
        return truncate(f"file {os.path.basename(source)} ({os.path.getsize(source)} bytes)")

    def filename(self, stem: str, obj: object, extension: str) -> str:
        name = os.path.basename(_fspath(obj))
        return name or stem


class FolderSerializer(Serializer):
    """An existing folder, stored as a zip of its contents; loads as the extracted folder's ``Path``."""

    type_name = "folder"
    format = "zip"
    extensions = (".zip",)
    archive = True

    def matches(self, obj: object) -> bool:
        return isinstance(obj, str | os.PathLike) and os.path.isdir(obj)

    def dump(self, obj: object, path: str) -> None:
        root = _fspath(obj)
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            # Sorted walk: the same folder gives the same member order, hence a stable listing.
            for folder, dirs, files in os.walk(root):
                dirs.sort()
                relative = os.path.relpath(folder, root)
                if relative != "." and not files and not dirs:
                    archive.write(folder, relative)  # keep empty folders
                for file_name in sorted(files):
                    full = os.path.join(folder, file_name)
                    archive.write(full, os.path.normpath(os.path.join(relative, file_name)))

    def load(self, path: str) -> Any:
        # The storage layer extracts archives (it owns the cache); on its own this is the zip.
        return Path(path)

    def preview(self, obj: object) -> str:
        root = _fspath(obj)
        count = sum(len(files) for _, _, files in os.walk(root))
        return truncate(f"folder {os.path.basename(os.path.normpath(root))}: {count} files")

    def filename(self, stem: str, obj: object, extension: str) -> str:
        name = os.path.basename(os.path.normpath(_fspath(obj)))
        return (name or stem) + extension


class JsonSerializer(Serializer):
    """Plain ``dict``/``list`` as JSON, only when JSON gives the same object back.

    Tuples, non-string keys, NaN, subclasses (``np.float64``) or non-JSON values would silently
    change on a round trip, so ``dump`` refuses them and the storage falls back to pickle.
    """

    type_name = "json"
    format = "json"
    extensions = (".json",)

    def matches(self, obj: object) -> bool:
        # Exact types: a subclass (OrderedDict, defaultdict) would come back as a plain dict.
        return type(obj) in (dict, list)

    def dump(self, obj: object, path: str) -> None:
        try:
            exact = _json_exact(obj)
            text = json.dumps(obj, ensure_ascii=False, allow_nan=False) if exact else ""
        except (ValueError, RecursionError) as exc:  # NaN/inf, or nested too deep
            raise SerializationError(f"not JSON-serializable: {exc}") from exc
        if not exact:
            raise SerializationError(
                "JSON would not give the same object back (tuples, non-str keys or non-JSON types)"
            )
        with open(path, "wb") as handle:
            handle.write(text.encode("utf-8"))

    def load(self, path: str) -> Any:
        with open(path, "rb") as handle:
            data = handle.read()
        try:
            return json.loads(data)
        except ValueError as exc:
            raise SerializationError(f"invalid JSON in {path}: {exc}") from exc


def _json_exact(obj: object) -> bool:
    """True if JSON brings ``obj`` back with the same types (exact types: no subclasses, str keys)."""
    if type(obj) is dict:
        return all(type(k) is str and _json_exact(v) for k, v in obj.items())
    if type(obj) is list:
        return all(_json_exact(v) for v in obj)
    return type(obj) in (str, int, float, bool) or obj is None


class TextSerializer(Serializer):
    """A ``str`` that is not the path of an existing file, stored as UTF-8 text."""

    type_name = "str"
    format = "text"
    extensions = (".txt",)

    def matches(self, obj: object) -> bool:
        return type(obj) is str

    def dump(self, obj: object, path: str) -> None:
        assert isinstance(obj, str)  # guaranteed by matches()
        try:
            data = obj.encode("utf-8")
        except UnicodeEncodeError as exc:  # lone surrogates: pickle keeps them
            raise SerializationError(f"text is not valid UTF-8: {exc}") from exc
        with open(path, "wb") as handle:
            handle.write(data)

    def load(self, path: str) -> Any:
        with open(path, "rb") as handle:
            return handle.read().decode("utf-8")


class PickleSerializer(Serializer):
    """Anything else, through cloudpickle (handles lambdas and locally defined classes)."""

    type_name = "pickle"
    format = "pickle"
    extensions = (".pkl", ".pickle")

    def matches(self, obj: object) -> bool:
        return True

    def dump(self, obj: object, path: str) -> None:
        with open(path, "wb") as handle:
            try:
                cloudpickle.dump(obj, handle, protocol=pickle.HIGHEST_PROTOCOL)
            except (pickle.PicklingError, TypeError, AttributeError, RecursionError) as exc:
                raise SerializationError(
                    f"cannot pickle {type(obj).__qualname__}: {exc}; pass serialization_function= "
                    "(and deserialization_function= when reading) to store it another way"
                ) from exc

    def load(self, path: str) -> Any:
        with open(path, "rb") as handle:
            try:
                return pickle.load(handle)
            except (pickle.UnpicklingError, AttributeError, ImportError, EOFError) as exc:
                raise SerializationError(
                    f"cannot unpickle {path}: {exc}; the module that defines the object's class must "
                    "be importable here (same packages as the producing task)"
                ) from exc


class CustomSerializer(Serializer):
    """User functions ``obj -> bytes`` and ``bytes -> obj`` (ClearML's ``serialization_function``)."""

    type_name = "custom"
    format = "custom"
    extensions = (".bin",)

    def __init__(
        self,
        serialize: Callable[[Any], bytes | bytearray] | None = None,
        deserialize: Callable[[bytes], Any] | None = None,
    ) -> None:
        self._serialize = serialize
        self._deserialize = deserialize

    def matches(self, obj: object) -> bool:
        return self._serialize is not None

    def dump(self, obj: object, path: str) -> None:
        if self._serialize is None:
            raise SerializationError("no serialization_function given")
        try:
            data = self._serialize(obj)
        except Exception as exc:  # user code: anything may come out of it
            raise SerializationError(f"serialization_function failed: {exc!r}") from exc
        if not isinstance(data, bytes | bytearray | memoryview):
            raise SerializationError(
                f"serialization_function must return bytes, it returned {type(data).__qualname__}"
            )
        with open(path, "wb") as handle:
            handle.write(data)

    def load(self, path: str) -> Any:
        with open(path, "rb") as handle:
            data = handle.read()
        if self._deserialize is None:
            return data
        try:
            return self._deserialize(data)
        except Exception as exc:  # user code
            raise SerializationError(f"deserialization_function failed: {exc!r}") from exc
