"""Content hashes of stored artifact bytes (``sha256:<hex>``).

Only hashing lives here: streaming a file or hashing an in-memory buffer. Deciding *when* to hash
(after a write, after a download) is :mod:`taskmill.artifacts.storage`'s business.
"""

from __future__ import annotations

import hashlib

#: Prefix of every hash string we produce, so the algorithm can change without ambiguity.
HASH_PREFIX = "sha256:"


def sha256_file(path: str) -> tuple[str, int]:
    """Hash a file by streaming it in chunks (constant memory, whatever its size).

    Args:
        path: Local file to read.

    Returns:
        ``("sha256:<hex>", size_in_bytes)``.

    Raises:
        OSError: If the file cannot be read (callers translate it into an artifact error).
    """
    size = 0
    digest = hashlib.sha256()
    # 1 MiB reads: large enough that the per-call overhead vanishes, small enough to stay in cache.
    buffer = bytearray(1 << 20)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as handle:
        while True:
            count = handle.readinto(view)
            if not count:
                break
            digest.update(view[:count])
            size += count
    return HASH_PREFIX + digest.hexdigest(), size


def sha256_bytes(data: bytes | bytearray | memoryview) -> str:
    """Hash an in-memory buffer; returns ``"sha256:<hex>"``."""
    return HASH_PREFIX + hashlib.sha256(data).hexdigest()
