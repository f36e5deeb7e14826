"""Artifact bytes: serializing objects, storing files locally or on any fsspec URL, loading them back.

This package knows nothing about tasks beyond their ids: it returns
:class:`~taskmill.core.model.ArtifactRecord` values and the task store keeps them. It never reads
configuration or environment variables of its own (S3 credentials reach botocore the usual way).
numpy, pandas and pyarrow are imported only when an object of theirs is stored or loaded.
"""

from __future__ import annotations

from taskmill.artifacts.hashing import sha256_bytes, sha256_file
from taskmill.artifacts.serializers import (
    CustomSerializer,
    Serializer,
    SerializerRegistry,
    default_registry,
)
from taskmill.artifacts.storage import ArtifactStore

__all__ = [
    "ArtifactStore",
    "CustomSerializer",
    "Serializer",
    "SerializerRegistry",
    "default_registry",
    "sha256_bytes",
    "sha256_file",
]
