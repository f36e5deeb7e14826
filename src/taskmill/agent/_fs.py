"""Small filesystem helpers of the agent: a cross-process file lock and stable short hashes."""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``path`` (created if missing) for the ``with`` block.

    Blocking. Excludes other processes *and* other threads of this process (each call opens its
    own file description, and ``flock`` locks are per description). Agents sharing one
    ``TASKMILL_HOME`` use it so that a checkout cache or a virtualenv is built exactly once.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the description releases the lock


def short_hash(*parts: str) -> str:
    """A 16-hex-digit SHA-256 of ``parts`` (folder names of cached repositories and venvs)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]
