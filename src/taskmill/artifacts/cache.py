"""The local cache folder: downloads of remote files, staged uploads and extracted archives.

Layout under the cache root (every entry is filled atomically, so concurrent processes can share
one cache; anything in it may be deleted at any time and is re-created on demand):

* ``artifacts/<key(uri, hash)>/<file>``: remote artifacts, verified against their recorded hash;
* ``urls/<key(url)>/<file>``: plain URLs fetched by ``get_local_copy``;
* ``extracted/<key(zip, size, mtime)>/``: extracted zip archives;
* ``.staging/``: files being serialized before their upload.

What to cache and when is :class:`~taskmill.artifacts.storage.ArtifactStore`'s decision.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from typing import Any

import taskmill.artifacts.transfer as transfer
from taskmill.artifacts.hashing import sha256_file
from taskmill.errors import ArtifactError


class LocalCache:
    """A cache folder; holds no state besides its location and the remote storage options.

    Args:
        root: The cache folder (created when first needed).
        storage_options: fsspec options for downloads (see :func:`transfer.filesystem`).
    """

    def __init__(self, root: str, storage_options: Mapping[str, Any]) -> None:
        self._root = os.path.abspath(os.path.expanduser(root))
        self._storage_options = storage_options

    @property
    def root(self) -> str:
        """The cache folder (absolute)."""
        return self._root

    def artifact_path(self, uri: str, digest: str) -> str:
        """Where the remote artifact ``uri`` with hash ``digest`` is (or would be) cached."""
        return os.path.join(self._root, "artifacts", transfer.cache_key(uri, digest), _filename(uri))

    def url_path(self, url: str) -> str:
        """Where the plain URL ``url`` is (or would be) cached."""
        return os.path.join(self._root, "urls", transfer.cache_key(url), _filename(url))

    def fetch(self, url: str, dest: str, *, what: str, expected_hash: str = "") -> None:
        """Download ``url`` to the cache path ``dest`` (blocking; atomic; overwrites).

        Args:
            url: Remote URL.
            dest: A path returned by :meth:`artifact_path` or :meth:`url_path`.
            what: Names the artifact or operation in error messages.
            expected_hash: ``sha256:<hex>`` the bytes must have; checked when given.

        Raises:
            ArtifactError: If the download fails (its ``__cause__`` is a ``FileNotFoundError``
                when nothing is at ``url``) or the bytes do not match ``expected_hash``.
        """
        with transfer.translated(what, url, writing=False), transfer.atomic_file(dest) as tmp:
            transfer.download(url, tmp, self._storage_options)
            if expected_hash:
                digest, _ = sha256_file(tmp)
                if digest != expected_hash:
                    raise ArtifactError(
                        f"{what}: the bytes at {url} changed after the artifact was recorded (hash {digest}, "
                        f"expected {expected_hash}), so it was overwritten; re-run the task that made it"
                    )

    @contextmanager
    def staging_file(self, what: str) -> Iterator[str]:
        """Yield a new empty local file for serializing an upload; removed at exit unless adopted."""
        folder = os.path.join(self._root, ".staging")
        with transfer.translated(what, folder, writing=True):
            os.makedirs(folder, exist_ok=True)
            path = transfer.new_temp_file(folder)
        try:
            yield path
        finally:
            with suppress(OSError):
                os.remove(path)

    def adopt(self, staged: str, uri: str, digest: str) -> None:
        """Move a staged file that was just uploaded to ``uri`` into the artifact cache.

        Best effort: the cache only saves a download, so failing to fill it is not an error.
        """
        cached = self.artifact_path(uri, digest)
        with suppress(OSError):
            os.makedirs(os.path.dirname(cached), exist_ok=True)
            os.replace(staged, cached)

    def forget(self, uri: str, digest: str) -> None:
        """Drop the cached copy of an artifact (idempotent)."""
        shutil.rmtree(os.path.dirname(self.artifact_path(uri, digest)), ignore_errors=True)

    def extraction_dir(self, zip_path: str) -> str:
        """Folder an archive is extracted to, keyed by its path, size and mtime (a new version of
        the archive, e.g. re-downloaded, gets a new folder)."""
        stat = os.stat(zip_path)
        key = transfer.cache_key(zip_path, str(stat.st_size), str(stat.st_mtime_ns))
        return os.path.join(self._root, "extracted", key)

    def extract(self, zip_path: str, *, what: str, force: bool = False) -> str:
        """Extract the zip archive ``zip_path`` once and return the folder (see ``extract_zip``).

        Raises:
            ArtifactError: If the archive is unreadable or extraction fails.
        """
        with transfer.translated(what, zip_path, writing=False):
            return transfer.extract_zip(zip_path, self.extraction_dir(zip_path), force=force)


def _filename(url: str) -> str:
    # Keep the original name (and extension) for people and tools looking into the cache.
    return transfer.safe_filename(transfer.basename(url) or "download")
