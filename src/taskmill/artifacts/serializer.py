"""The serializer interface: how one kind of Python object becomes one local file and back.

Every serializer, built in or from a plugin, implements :class:`Serializer`. The helpers here
(:func:`truncate`, :func:`module_root`) are what implementations share: previews of bounded
length, and telling an object's library without importing it. Which serializer an object gets
is :mod:`taskmill.artifacts.serializers`' job (the registry).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

#: Longest preview string kept in a record (previews are for humans, not for round trips).
PREVIEW_LIMIT = 512


def truncate(text: str, limit: int = PREVIEW_LIMIT) -> str:
    """Cut ``text`` to ``limit`` characters, marking the cut with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def module_root(obj: object) -> str:
    """Top-level package of ``obj``'s type (``numpy`` for ``numpy.ndarray``).

    Serializers check this before importing a heavy library, so an object from elsewhere never
    triggers ``import numpy``/``import pandas``.
    """
    return type(obj).__module__.partition(".")[0]


class Serializer(ABC):
    """Turns one kind of object into one local file and back.

    Implementations are stateless: every method may be called from several threads at once.
    ``dump`` writes a file the storage layer then hashes and moves into place; ``load`` reads a
    local file (the stored file itself or a cached download) and may keep it memory-mapped.
    """

    #: Kind of object, stored as ``ArtifactRecord.type`` (``numpy``, ``pandas``, ``json``, ...).
    type_name: ClassVar[str]
    #: On-disk format, stored as ``ArtifactRecord.format``; loading looks the serializer up by it.
    format: ClassVar[str]
    #: File extensions this serializer writes, the first being the default; empty when the file
    #: keeps its own name (then any ``extension_name`` is accepted and ignored).
    extensions: ClassVar[tuple[str, ...]]
    #: True when the file is a zip archive that ``get()`` extracts (folders).
    archive: ClassVar[bool] = False

    @abstractmethod
    def matches(self, obj: object) -> bool:
        """True if this serializer can store ``obj`` (cheap: must not import heavy libraries)."""

    @abstractmethod
    def dump(self, obj: object, path: str) -> None:
        """Write ``obj`` to the local file ``path`` (created empty by the caller; overwritten).

        Raises:
            SerializationError: If ``obj`` cannot be represented in this format; the caller then
                tries the next matching serializer (ultimately pickle).
            OSError: If writing fails.
        """

    def dump_hashed(self, obj: object, path: str) -> tuple[str, int] | None:
        """Like :meth:`dump`, and return ``("sha256:<hex>", size)`` of the written bytes when
        this serializer can hash them from memory while writing (no second read of the file);
        None (the default) when it cannot: the storage layer then hashes the file."""
        self.dump(obj, path)
        return None

    @abstractmethod
    def load(self, path: str) -> Any:
        """Read the object back from the local file ``path``.

        Raises:
            SerializationError: If the file does not hold a valid object of this format.
            OSError: If reading fails.
        """

    def preview(self, obj: object) -> str:
        """A short human-readable description of ``obj`` (truncated ``repr`` by default)."""
        return truncate(repr(obj))

    def filename(self, stem: str, obj: object, extension: str) -> str:
        """Name of the stored file for an artifact whose (sanitized) name is ``stem``."""
        return stem + extension
