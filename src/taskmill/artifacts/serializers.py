"""The serializer registry: which serializer stores an object, and which one reads a format back.

:class:`SerializerRegistry` is an ordered list of :class:`~taskmill.artifacts.serializer.Serializer`
objects; the first that matches an object stores it, and a stored record is read back by the one
whose ``format`` it names. :func:`default_registry` builds the usual one.

Third-party serializers
-----------------------
A package adds serializers by declaring entry points in the group ``taskmill.serializers``
(:data:`ENTRY_POINT_GROUP`), e.g. in its ``pyproject.toml``::

    [project.entry-points."taskmill.serializers"]
    torch = "taskmill_torch:TensorSerializer"

An entry point names a :class:`Serializer` subclass (instantiated with no arguments), a
zero-argument factory returning a serializer, or a serializer instance. Entry points are read
lazily, the first time a registry from :func:`default_registry` has to choose a serializer for
an object (or meets a format no built-in reads), never at import; each registry reads them at
most once. They are tried in entry-point name order, before the built-in serializers, so a
plugin can take a type that would otherwise be pickled. An entry point that fails to load, does
not give a serializer, or reuses a ``format`` already taken (which would make existing artifacts
unreadable) is skipped with a warning on the ``taskmill.artifacts.serializers`` logger.

This module also re-exports the serializer interface and the built-in serializers under their
historical import path (``taskmill.artifacts.serializers.Serializer`` etc.).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from taskmill.artifacts.data_serializers import (
    ArrowSerializer,
    CsvGzSerializer,
    NpySerializer,
    NpzSerializer,
    ParquetSerializer,
)
from taskmill.artifacts.plain_serializers import (
    CustomSerializer,
    FileSerializer,
    FolderSerializer,
    JsonSerializer,
    PickleSerializer,
    TextSerializer,
)
from taskmill.artifacts.serializer import PREVIEW_LIMIT, Serializer, module_root, truncate

__all__ = [
    "ENTRY_POINT_GROUP",
    "PREVIEW_LIMIT",
    "ArrowSerializer",
    "CsvGzSerializer",
    "CustomSerializer",
    "FileSerializer",
    "FolderSerializer",
    "JsonSerializer",
    "NpySerializer",
    "NpzSerializer",
    "ParquetSerializer",
    "PickleSerializer",
    "Serializer",
    "SerializerRegistry",
    "TextSerializer",
    "default_registry",
    "entry_point_serializers",
    "module_root",
    "normalize_extension",
    "truncate",
]

logger = logging.getLogger(__name__)

#: The entry-point group third-party packages declare their serializers in.
ENTRY_POINT_GROUP = "taskmill.serializers"


class SerializerRegistry:
    """An ordered set of serializers; the first one that matches an object stores it.

    Its content is fixed once built: ``serializers`` in the order given, and, when ``discover``
    is a callable (see :func:`default_registry`), the serializers it returns put first, which it
    is called for at most once per registry, on first need. Thread-safe.
    """

    def __init__(
        self,
        serializers: Sequence[Serializer],
        *,
        discover: Callable[[Sequence[Serializer]], Sequence[Serializer]] | None = None,
    ) -> None:
        self._own = tuple(serializers)
        self._discover = discover
        self._all: tuple[Serializer, ...] | None = None if discover is not None else self._own
        self._lock = threading.Lock()

    @property
    def serializers(self) -> tuple[Serializer, ...]:
        """Every serializer, in the order they are tried (loads discovered ones on first use)."""
        if self._all is None:
            with self._lock:
                if self._all is None and self._discover is not None:
                    self._all = (*self._discover(self._own), *self._own)
        assert self._all is not None  # set above, or in __init__ without a discover callable
        return self._all

    def candidates(self, obj: object, extension: str | None = None) -> list[Serializer]:
        """Serializers able to store ``obj``, best first.

        Args:
            obj: The object to store.
            extension: Forces a format by file extension (``".pkl"``, ``".arrow"``, ...); only
                serializers writing that extension qualify.

        Returns:
            The matching serializers; the caller tries them in order until one succeeds.

        Raises:
            ValueError: If ``extension`` is given and no serializer for ``obj`` writes it.
        """
        matching = [s for s in self.serializers if s.matches(obj)]
        if extension is None:
            return matching
        wanted = normalize_extension(extension)
        chosen = [s for s in matching if not s.extensions or wanted in s.extensions]
        if not chosen:
            offered = sorted({e for s in matching for e in s.extensions if e})
            raise ValueError(
                f"extension_name '{extension}' is not available for a {type(obj).__qualname__}; "
                f"use one of {', '.join(offered)}"
            )
        return chosen

    def for_format(self, fmt: str) -> Serializer | None:
        """The serializer that reads format ``fmt`` (a record's ``format``), or None if unknown."""
        # Discovered serializers never reuse a format of the given ones, so a known format is
        # answered without reading entry points.
        for serializer in self._own:
            if serializer.format == fmt:
                return serializer
        for serializer in self.serializers:
            if serializer.format == fmt:
                return serializer
        return None

    def with_serializers(self, serializers: Sequence[Serializer]) -> SerializerRegistry:
        """A new registry trying ``serializers`` first, then this one's (this one is unchanged).

        The in-process way to register serializers: pass the result to one
        :class:`~taskmill.artifacts.storage.ArtifactStore` as ``serializers=``; installed packages
        use the entry-point group instead. Reads this registry's entry points now, if it has not
        yet. A format given here takes precedence for reading over the same format further down.
        """
        return SerializerRegistry([*serializers, *self.serializers])


def normalize_extension(extension: str) -> str:
    """``"pkl"`` / ``".PKL"`` -> ``".pkl"``."""
    extension = extension.strip().lower()
    return extension if extension.startswith(".") or not extension else "." + extension


def entry_point_serializers(taken: Sequence[Serializer] = ()) -> list[Serializer]:
    """Load the serializers installed packages declare in :data:`ENTRY_POINT_GROUP`.

    Blocking (reads the installed distributions' metadata and imports the plugin modules). In
    entry-point name order; entry points that fail, give no serializer, or reuse the ``format``
    of one in ``taken`` or of an earlier entry point are skipped with a warning.
    """
    # Imported here: reading distribution metadata is only needed once a registry is used.
    from importlib.metadata import entry_points

    formats = {s.format for s in taken}
    found: list[Serializer] = []
    for point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda p: p.name):
        try:
            target = point.load()
            serializer = target() if callable(target) and not isinstance(target, Serializer) else target
        except Exception as exc:  # plugin code: anything may come out of it
            logger.warning("skipping serializer entry point %s = %s: %r", point.name, point.value, exc)
            continue
        if not isinstance(serializer, Serializer):
            logger.warning(
                "skipping serializer entry point %s = %s: it gave a %s, not a Serializer",
                point.name,
                point.value,
                type(serializer).__qualname__,
            )
            continue
        if serializer.format in formats:
            logger.warning(
                "skipping serializer entry point %s = %s: format '%s' is already taken",
                point.name,
                point.value,
                serializer.format,
            )
            continue
        formats.add(serializer.format)
        found.append(serializer)
    return found


def default_registry() -> SerializerRegistry:
    """A new registry: third-party serializers (entry points, read on first use), then the built-ins.

    Built-ins in priority order: files, folders, numpy, pandas, JSON, text, and pickle last,
    since pickle matches everything.
    """
    return SerializerRegistry(
        [
            FileSerializer(),
            FolderSerializer(),
            NpySerializer(),
            NpzSerializer(),
            ParquetSerializer(),
            ArrowSerializer(),
            JsonSerializer(),
            TextSerializer(),
            PickleSerializer(),
            CsvGzSerializer(),  # after pickle, which matches everything: chosen only when asked for
        ],
        discover=entry_point_serializers,
    )
