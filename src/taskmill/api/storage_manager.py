"""``StorageManager``: fetch and upload files by URL (local paths, ``file://``, ``s3://``, ``http(s)://``)."""

from __future__ import annotations

from pathlib import Path

from taskmill.api.session import PROCESS


class StorageManager:
    """ClearML-compatible helpers; downloads are cached under ``$TASKMILL_HOME/cache``."""

    @classmethod
    def get_local_copy(
        cls,
        remote_url: str,
        cache_context: str | None = None,
        extract_archive: bool = True,
        name: str | None = None,
        force_download: bool = False,
    ) -> str:
        """A local path to ``remote_url``'s content. Local files are returned as they are (no
        copy); remote ones are downloaded once into the cache. Blocking."""
        return str(
            PROCESS.session().artifacts.get_local_copy(
                remote_url, extract_archive=extract_archive, force_download=force_download
            )
        )

    @classmethod
    def upload_file(
        cls, local_file: str | Path, remote_url: str, wait_for_upload: bool = True, retries: int | None = None
    ) -> str:
        """Copy ``local_file`` to ``remote_url``; returns the destination URL. Blocking."""
        return str(PROCESS.session().artifacts.upload_file(str(local_file), remote_url))

    @classmethod
    def download_file(cls, remote_url: str, local_folder: str | None = None, overwrite: bool = False) -> str:
        """Download ``remote_url`` into ``local_folder`` (default: the cache); returns the path."""
        import shutil

        cached = cls.get_local_copy(remote_url, extract_archive=False)
        if local_folder is None:
            return cached
        dest = Path(local_folder) / Path(cached).name
        if dest.exists() and not overwrite:
            return str(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(cached, dest)
        return str(dest)
