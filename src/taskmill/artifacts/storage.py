"""The artifact store: puts artifact bytes somewhere and gets them back, given records.

:class:`ArtifactStore` decides where an artifact's file lives (``<base>/<task_id>/<name>/<file>``),
writes it atomically, hashes it, and reads it back in place (local) or through a download cache
(remote). It returns :class:`~taskmill.core.model.ArtifactRecord` values but never stores them:
the task store does that. Serializing objects is delegated to
:mod:`taskmill.artifacts.serializers`, URL and file plumbing to :mod:`taskmill.artifacts.transfer`,
downloads and extraction to :mod:`taskmill.artifacts.cache`.
Foreign errors (``OSError``, botocore, pyarrow) leave this module as :class:`ArtifactError`.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
import zipfile
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import taskmill.artifacts.transfer as transfer
from taskmill.artifacts.cache import LocalCache
from taskmill.artifacts.hashing import sha256_file
from taskmill.artifacts.pending import PendingWrites
from taskmill.artifacts.serializers import (
    CustomSerializer,
    Serializer,
    SerializerRegistry,
    default_registry,
    normalize_extension,
)
from taskmill.core.model import ArtifactRecord
from taskmill.errors import ArtifactError, ArtifactMissingError, SerializationError
from taskmill.types import JSONValue

logger = logging.getLogger(__name__)


def _preview(serializer: Serializer, obj: object) -> str:
    # A preview is a courtesy: an object whose repr() fails must not fail an upload that succeeded.
    try:
        return serializer.preview(obj)
    except Exception:
        logger.debug("no preview for %s", type(obj).__qualname__, exc_info=True)
        return f"<{type(obj).__qualname__}>"


#: ``on_written(final_record, None)`` after a background write, ``(None, error)`` if it failed
Written = Callable[[ArtifactRecord | None, BaseException | None], None]

#: formats whose serializer accepts every object it matches (so a write planned now cannot turn
#: into a different format, or a refusal, later)
_NEVER_REFUSES = frozenset({"npy"})


@dataclass(frozen=True)
class BackgroundUpload:
    """An upload planned by :meth:`ArtifactStore.upload_later`: store ``record``, then ``start``."""

    record: ArtifactRecord  #: final place and format; size 0 and hash "" until written
    start: Callable[[Written], None]  #: run the write now (non-blocking)
    cancel: Callable[[], None]  #: drop the write (readers waiting on it are released)


class ArtifactStore:
    """Stores artifact bytes on the local disk or any fsspec URL, and loads them back.

    All methods block until done and are safe to call from several threads and processes at
    once: local writes are atomic renames and cache entries are filled atomically. The only state
    is the table of writes left running in the background (:meth:`upload_later`): reading,
    checking or deleting an artifact waits for its pending write first.

    Args:
        default_uri: Where artifacts go when ``upload`` gets no ``output_uri``: a local folder
            (plain path or ``file://``) or any fsspec URL (``s3://bucket/prefix``, ``memory://x``).
        cache_dir: Local folder for downloads of remote artifacts and extracted archives.
        storage_options: fsspec options for remote filesystems other than HTTP (for S3:
            ``key``, ``secret``, ``client_kwargs={"endpoint_url": ...}``). Without them botocore
            reads the usual ``AWS_*`` environment variables.
        serializers: The serializers to choose from; :func:`default_registry` if omitted.
    """

    def __init__(
        self,
        default_uri: str,
        cache_dir: str,
        storage_options: Mapping[str, Any] | None = None,
        *,
        serializers: SerializerRegistry | None = None,
    ) -> None:
        # Resolved now: a relative folder must not move when the process changes directory.
        self._default_uri = (
            transfer.local_path(default_uri) if transfer.is_local(default_uri) else default_uri
        )
        self._storage_options: Mapping[str, Any] = MappingProxyType(dict(storage_options or {}))
        self._cache = LocalCache(cache_dir, self._storage_options)
        self._registry = serializers if serializers is not None else default_registry()
        self._pending = PendingWrites()

    @property
    def default_uri(self) -> str:
        """Where artifacts go by default (local paths are absolute)."""
        return self._default_uri

    @property
    def cache_dir(self) -> str:
        """The local cache folder (absolute)."""
        return self._cache.root

    # -- artifacts ------------------------------------------------------------------------------

    def upload(
        self,
        task_id: str,
        name: str,
        obj: object,
        *,
        output_uri: str | None = None,
        metadata: Mapping[str, JSONValue] | None = None,
        preview: str | None = None,
        serialization_function: Callable[[Any], bytes | bytearray] | None = None,
        extension_name: str | None = None,
    ) -> ArtifactRecord:
        """Serialize ``obj`` and store it as artifact ``name`` of task ``task_id``.

        Blocking. Local writes are atomic (temporary file, fsync, ``os.replace``); a remote upload
        appears whole or not at all (one object PUT). Uploading the same name again replaces the
        file, so repeating an upload is idempotent. The format follows the object's type (see
        :func:`default_registry`); when that format cannot represent the object (a dict with
        tuple values, a frame with mixed-type columns) it falls back to pickle. The caller must
        store the returned record; nothing here remembers it.

        Args:
            task_id: Owning task.
            name: Artifact name (any string; made path-safe for the file layout).
            obj: The object (a path of an existing file or folder stores that file or folder).
            output_uri: Base location for this call instead of ``default_uri``.
            metadata: JSON-able key/values copied into the record.
            preview: Preview text; by default one is derived from the object.
            serialization_function: ``obj -> bytes``; overrides format selection (format ``custom``).
            extension_name: Forces a format by extension (``.pkl``, ``.npz``, ``.arrow``, ``.json``);
                with ``serialization_function`` it only names the file.

        Returns:
            The record: ``uri`` (absolute path for local stores), ``type``, ``format``, ``size``
            and ``hash`` (``sha256:<hex>`` of the stored bytes).

        Raises:
            SerializationError: If no format can store ``obj``.
            ValueError: If ``extension_name`` does not fit ``obj``, or a ``Path`` does not exist.
            ArtifactError: If writing the bytes fails.
        """
        what = f"artifact '{name}' of task {task_id}"
        base = output_uri or self._default_uri
        if serialization_function is not None:
            candidates: list[Serializer] = [CustomSerializer(serialization_function)]
        else:
            candidates = self._registry.candidates(obj, extension_name)
        folder = transfer.join(base, transfer.path_segment(task_id), transfer.path_segment(name))
        for index, serializer in enumerate(candidates):
            if extension_name:
                extension = normalize_extension(extension_name)
            else:
                extension = serializer.extensions[0] if serializer.extensions else ""
            filename = transfer.safe_filename(serializer.filename(name, obj, extension))
            uri = transfer.join(folder, filename)
            self._pending.wait(uri)  # a write left running for this file lands before ours
            try:
                digest, size = self._write(serializer, obj, uri, what)
            except SerializationError as exc:
                if index + 1 < len(candidates):
                    logger.debug("%s: %s; trying %s", what, exc, candidates[index + 1].format)
                    continue
                raise SerializationError(f"{what}: {exc}") from exc
            return ArtifactRecord(
                task_id=task_id,
                name=name,
                uri=uri,
                type=serializer.type_name,
                format=serializer.format,
                size=size,
                hash=digest,
                metadata=dict(metadata or {}),
                preview=preview if preview is not None else _preview(serializer, obj),
                timestamp=time.time(),
            )
        raise SerializationError(f"{what}: no serializer accepts a {type(obj).__qualname__}")

    def upload_later(
        self, task_id: str, name: str, obj: object, *, output_uri: str | None = None
    ) -> BackgroundUpload | None:
        """Plan storing ``obj`` as artifact ``name`` of ``task_id`` with the bytes written later.

        Non-blocking. Only objects whose format cannot refuse them (plain numpy arrays, ``.npy``)
        on a local store qualify; for anything else this returns None and the caller uses
        :meth:`upload`. The plan's ``record`` has the final ``uri``, ``type``, ``format`` and
        preview, with ``size`` 0 and ``hash`` "" until written. From this call on, reading,
        checking or deleting that artifact here waits for its write. The caller stores the record,
        then calls ``start(on_written)`` (or ``cancel()``): the write (atomic, sha256 of the bytes)
        runs on the writer thread, which then calls ``on_written(final_record, None)`` or
        ``on_written(None, error)``.
        """
        base = output_uri or self._default_uri
        if not transfer.is_local(base):
            return None
        candidates = self._registry.candidates(obj)
        if not candidates or candidates[0].format not in _NEVER_REFUSES:
            return None
        serializer = candidates[0]
        extension = serializer.extensions[0] if serializer.extensions else ""
        folder = transfer.join(base, transfer.path_segment(task_id), transfer.path_segment(name))
        uri = transfer.join(folder, transfer.safe_filename(serializer.filename(name, obj, extension)))
        record = ArtifactRecord(
            task_id=task_id,
            name=name,
            uri=uri,
            type=serializer.type_name,
            format=serializer.format,
            size=0,
            hash="",
            preview=_preview(serializer, obj),
            timestamp=time.time(),
        )
        self._pending.wait(uri)  # an earlier write of this very file lands first
        begin = self._pending.reserve(uri)
        what = f"artifact '{name}' of task {task_id}"

        def start(on_written: Written) -> None:
            def work() -> None:
                try:
                    digest, size = self._write(serializer, obj, uri, what)
                except BaseException as exc:
                    on_written(None, exc)
                    return
                on_written(replace(record, size=size, hash=digest), None)

            begin(work)

        return BackgroundUpload(record=record, start=start, cancel=lambda: begin(None))

    def flush(self) -> None:
        """Block until every write left running by :meth:`upload_later` has ended."""
        self._pending.wait_all()

    def load(
        self,
        record: ArtifactRecord,
        *,
        deserialization_function: Callable[[bytes], Any] | None = None,
        force_download: bool = False,
    ) -> Any:
        """The artifact's object (ClearML's ``Artifact.get()``).

        Blocking, read-only. Local artifacts are read in place, never copied: ``.npy`` arrays come
        back as read-only ``np.memmap`` views of the stored file and Arrow frames as views of a
        memory map. Remote artifacts are downloaded once into the cache (keyed by URI and hash,
        verified against the hash) and read from there. Files load as a ``Path``, folders as the
        ``Path`` of the extracted folder, unknown formats (``custom`` without a function) as the
        ``Path`` of the local file.

        Args:
            record: What the task store holds for the artifact.
            deserialization_function: ``bytes -> obj``, applied to the raw stored bytes instead of
                the format's reader.
            force_download: Download again even if cached (no effect on local artifacts).

        Raises:
            ArtifactMissingError: If the bytes are gone.
            SerializationError: If the bytes cannot be turned back into an object.
            ArtifactError: If reading or downloading fails otherwise.
        """
        what = f"artifact '{record.name}' of task {record.task_id}"
        self._pending.wait(record.uri)
        path = self._local_file(record, force_download)
        if deserialization_function is not None:
            serializer: Serializer | None = CustomSerializer(deserialize=deserialization_function)
        else:
            serializer = self._registry.for_format(record.format)
        if serializer is None:
            return Path(path)
        if serializer.archive:
            return Path(self._cache.extract(path, what=what, force=force_download))
        try:
            with transfer.translated(what, path, writing=False):
                return serializer.load(path)
        except SerializationError as exc:
            raise SerializationError(f"{what}: {exc}") from exc
        except ArtifactError as exc:
            if isinstance(exc.__cause__, FileNotFoundError):  # deleted while we were reading
                raise ArtifactMissingError(record.task_id, record.name, record.uri) from exc
            raise

    def local_copy(
        self, record: ArtifactRecord, *, extract_archive: bool = True, force_download: bool = False
    ) -> str:
        """A local path holding the artifact (ClearML's ``Artifact.get_local_copy()``).

        Blocking. For local artifacts this is the stored file itself (never copied: do not modify
        it); for remote ones a file in the cache, downloaded once. Zipped folders are extracted
        into the cache when ``extract_archive`` and the extracted folder is returned.

        Raises:
            ArtifactMissingError: If the bytes are gone.
            ArtifactError: If downloading or extracting fails.
        """
        self._pending.wait(record.uri)
        path = self._local_file(record, force_download)
        if extract_archive and self._is_archive(record):
            what = f"artifact '{record.name}' of task {record.task_id}"
            return self._cache.extract(path, what=what, force=force_download)
        return path

    def exists(self, record: ArtifactRecord) -> bool:
        """True if the artifact's bytes are at ``record.uri`` (asks the remote store, not the cache)."""
        what = f"artifact '{record.name}' of task {record.task_id}"
        self._pending.wait(record.uri)
        if transfer.is_local(record.uri):
            return os.path.isfile(transfer.local_path(record.uri))
        with transfer.translated(what, record.uri, writing=False):
            fs, path = transfer.filesystem(record.uri, self._storage_options)
            fs.invalidate_cache(path)  # another process may have deleted it since we last listed
            return bool(fs.exists(path))

    def delete(self, record: ArtifactRecord) -> None:
        """Remove the artifact's bytes and its cache entries.

        Blocking and idempotent: deleting what is already gone succeeds. Readers that still have
        a local file memory-mapped keep their view (POSIX unlink semantics). HTTP URIs are
        read-only: only their cache entry is dropped. A record that merely links to another
        task's artifact (same ``uri``) deletes that artifact's bytes too: do not delete links.

        Raises:
            ArtifactError: If the storage refuses the deletion.
        """
        what = f"artifact '{record.name}' of task {record.task_id}"
        self._pending.wait(record.uri)
        self._cache.forget(record.uri, record.hash)
        if transfer.is_http(record.uri):
            return
        with transfer.translated(what, record.uri, writing=True):
            if transfer.is_local(record.uri):
                path = transfer.local_path(record.uri)
                if self._is_archive(record) and os.path.isfile(path):
                    shutil.rmtree(self._cache.extraction_dir(path), ignore_errors=True)
                with suppress(FileNotFoundError):
                    os.remove(path)
                # Tidy the <task>/<name> folders if that left them empty (non-empty ones stay).
                with suppress(OSError):
                    os.rmdir(os.path.dirname(path))
                    os.rmdir(os.path.dirname(os.path.dirname(path)))
                return
            fs, rpath = transfer.filesystem(record.uri, self._storage_options)
            with suppress(FileNotFoundError):
                fs.rm_file(rpath)
            fs.invalidate_cache(rpath)

    # -- plain URLs (StorageManager) --------------------------------------------------------------

    def filesystem(self, url: str) -> tuple[Any, str]:
        """The fsspec filesystem and in-filesystem path for ``url`` (a local path too), with this
        store's storage options (S3 endpoint and credentials). Non-blocking."""
        if transfer.is_local(url):
            return transfer.filesystem(transfer.local_path(url), {})
        return transfer.filesystem(url, self._storage_options)

    def upload_file(self, local_path: str, remote_url: str) -> str:
        """Copy a local file to ``remote_url`` (ClearML's ``StorageManager.upload_file``).

        Blocking; atomic for local destinations, one object PUT for remote ones; idempotent.
        A ``remote_url`` ending in ``/`` gets the file's name appended.

        Returns:
            The URL the file now has.

        Raises:
            ValueError: If ``local_path`` is not an existing file, or ``remote_url`` is HTTP.
            ArtifactError: If the copy fails.
        """
        if not os.path.isfile(local_path):
            raise ValueError(f"no file at '{local_path}'; upload_file copies one existing file")
        if transfer.is_http(remote_url):
            raise ValueError(
                f"cannot upload to '{remote_url}': HTTP URLs are read-only here; use s3:// or a path"
            )
        if remote_url.endswith("/"):
            remote_url += os.path.basename(local_path)
        what = f"uploading {local_path}"
        with transfer.translated(what, remote_url, writing=True):
            if transfer.is_local(remote_url):
                target = transfer.local_path(remote_url)
                if os.path.abspath(local_path) != target:
                    with transfer.atomic_file(target) as tmp:
                        shutil.copyfile(local_path, tmp)
            else:
                fs, rpath = transfer.filesystem(remote_url, self._storage_options)
                fs.put_file(local_path, rpath)
                fs.invalidate_cache(rpath)
        return remote_url

    def get_local_copy(
        self, remote_url: str, *, extract_archive: bool = False, force_download: bool = False
    ) -> str:
        """A local path for ``remote_url`` (ClearML's ``StorageManager.get_local_copy``).

        Blocking. Local paths and ``file://`` URLs are returned as they are (absolute, no copy).
        ``s3://``, ``http(s)://`` and other URLs are downloaded once into the cache, keyed by the
        URL: later calls return the cached file without asking the server, unless
        ``force_download``. With ``extract_archive`` a zip file is extracted (once) and the folder
        returned; other files are returned unchanged.

        Raises:
            ArtifactError: If nothing is at the URL or the download fails.
        """
        what = f"getting {remote_url}"
        if transfer.is_local(remote_url):
            path = transfer.local_path(remote_url)
            if not os.path.exists(path):
                raise ArtifactError(f"{what}: no file or folder at {path}; check the path")
        else:
            path = self._cache.url_path(remote_url)
            if force_download or not os.path.isfile(path):
                try:
                    self._cache.fetch(remote_url, path, what=what)
                except ArtifactError as exc:
                    if isinstance(exc.__cause__, FileNotFoundError):
                        raise ArtifactError(f"{what}: nothing at {remote_url}; check the URL") from exc
                    raise
        if extract_archive and os.path.isfile(path) and zipfile.is_zipfile(path):
            return self._cache.extract(path, what=what, force=force_download)
        return path

    # -- internals ------------------------------------------------------------------------------

    def _write(self, serializer: Serializer, obj: object, uri: str, what: str) -> tuple[str, int]:
        """Write ``obj`` to ``uri``; returns ``(hash, size)`` of the stored bytes."""
        if transfer.is_local(uri):
            with transfer.translated(what, uri, writing=True), transfer.atomic_file(uri) as tmp:
                hashed = serializer.dump_hashed(obj, tmp)
                return hashed if hashed is not None else sha256_file(tmp)
        # Remote: serialize into a local staging file, upload it, then keep it as the cache entry
        # so that the producer reading its own artifact back does not download it.
        with self._cache.staging_file(what) as staging:
            with transfer.translated(what, staging, writing=True):
                hashed = serializer.dump_hashed(obj, staging)
                digest, size = hashed if hashed is not None else sha256_file(staging)
            with transfer.translated(what, uri, writing=True):
                fs, rpath = transfer.filesystem(uri, self._storage_options)
                fs.put_file(staging, rpath)
                fs.invalidate_cache(rpath)
            self._cache.adopt(staging, uri, digest)
        return digest, size

    def _is_archive(self, record: ArtifactRecord) -> bool:
        serializer = self._registry.for_format(record.format)
        return serializer is not None and serializer.archive

    def _local_file(self, record: ArtifactRecord, force_download: bool) -> str:
        """Local path of the artifact's bytes: in place for local ones, cached for remote ones."""
        if transfer.is_local(record.uri):
            path = transfer.local_path(record.uri)
            if not os.path.isfile(path):
                raise ArtifactMissingError(record.task_id, record.name, record.uri)
            return path
        cached = self._cache.artifact_path(record.uri, record.hash)
        if force_download or not os.path.isfile(cached):
            what = f"artifact '{record.name}' of task {record.task_id}"
            try:
                self._cache.fetch(record.uri, cached, what=what, expected_hash=record.hash)
            except ArtifactError as exc:
                if isinstance(exc.__cause__, FileNotFoundError):
                    raise ArtifactMissingError(record.task_id, record.name, record.uri) from exc
                raise
        return cached
