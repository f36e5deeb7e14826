"""Artifacts for a client of a taskmill server that cannot reach the server's artifact storage.

The bytes stream through the server (in chunks, never whole in memory): an upload is serialized
to a local staging file first and sent with :meth:`HttpTaskStore.upload_artifact_content`; a read
downloads the file once into the local cache and reads it from there (numpy still memory-mapped).
Clients that can reach the storage (same machine, shared folder, the same S3 bucket) read and
write it directly instead: see :func:`taskmill.api.session.Session.artifacts`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from taskmill.artifacts.serializers import SerializerRegistry
from taskmill.artifacts.storage import ArtifactStore
from taskmill.core.model import ArtifactRecord
from taskmill.store.http import HttpTaskStore
from taskmill.types import JSONValue


class RelayArtifactStore(ArtifactStore):
    """An :class:`ArtifactStore` whose bytes live on the server's side (see the module docstring)."""

    def __init__(
        self, store: HttpTaskStore, cache_dir: str, serializers: SerializerRegistry | None = None
    ) -> None:
        self._remote = store
        self._relay_cache = Path(cache_dir) / "relay"
        super().__init__(
            default_uri=str(Path(cache_dir) / "relay-staging"), cache_dir=cache_dir, serializers=serializers
        )

    @property
    def files_server(self) -> str:
        """Where the bytes really go: the server (its artifact endpoints)."""
        return self._remote.url

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
        """Serialize locally, stream the file to the server, return the server-side record. Blocking."""
        staged = super().upload(
            task_id,
            name,
            obj,
            metadata=metadata,
            preview=preview,
            serialization_function=serialization_function,
            extension_name=extension_name,
        )
        try:
            uri, size, digest = self._remote.upload_artifact_content(
                task_id, name, staged.uri, filename=Path(staged.uri).name
            )
        finally:
            if os.path.isfile(staged.uri) and not _same_file(staged.uri, obj):
                os.remove(staged.uri)
        return replace(staged, uri=uri, size=size, hash=digest)

    def _fetched(self, record: ArtifactRecord) -> ArtifactRecord:
        if os.path.isfile(record.uri):  # reachable after all (same machine): read in place
            return record
        digest = record.hash.split(":")[-1][:16] or "nohash"
        dest = self._relay_cache / record.task_id / digest / Path(record.uri).name
        if not dest.is_file():
            self._remote.download_artifact_content(record.task_id, record.name, dest)
        return replace(record, uri=str(dest))

    def load(
        self,
        record: ArtifactRecord,
        *,
        deserialization_function: Callable[[bytes], Any] | None = None,
        force_download: bool = False,
    ) -> Any:
        """Download through the server once (cached by content hash), then load locally."""
        return super().load(self._fetched(record), deserialization_function=deserialization_function)

    def local_copy(
        self, record: ArtifactRecord, *, extract_archive: bool = True, force_download: bool = False
    ) -> str:
        """A local path: a cached download through the server."""
        return super().local_copy(self._fetched(record), extract_archive=extract_archive)

    def exists(self, record: ArtifactRecord) -> bool:
        """Whether the server still has the bytes (a download into the cache proves it)."""
        try:
            self._fetched(record)
        except Exception:  # any failure to fetch means "not usable"
            return False
        return True


def _same_file(staged: str, obj: object) -> bool:
    return isinstance(obj, (str, os.PathLike)) and os.path.abspath(os.fspath(obj)) == os.path.abspath(staged)
