"""``StorageManager``: fetch and upload files by URL (local paths, ``file://``, ``s3://``, ``http(s)://``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from taskmill.api.session import PROCESS
from taskmill.api.unsupported import unsupported
from taskmill.errors import TaskmillError


class StorageManager:
    """ClearML-compatible helpers; downloads are cached under ``$TASKMILL_HOME/cache``."""

    storage_helper = unsupported(
        "storage backends are fsspec filesystems; use StorageManager's methods, or fsspec.filesystem(...)"
    )

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
    def download_file(
        cls,
        remote_url: str,
        local_folder: str | None = None,
        overwrite: bool = False,
        skip_zero_size_check: bool = False,
        silence_errors: bool = False,
    ) -> str | None:
        """Download ``remote_url`` into ``local_folder`` (default: the cache); returns the path.

        An empty download counts as a failure unless ``skip_zero_size_check`` (as in ClearML).
        Failures raise ArtifactError, or return None with ``silence_errors``. Blocking."""
        import shutil

        from taskmill.errors import ArtifactError

        try:
            cached = cls.get_local_copy(remote_url, extract_archive=False)
            if not skip_zero_size_check and Path(cached).is_file() and Path(cached).stat().st_size == 0:
                raise ArtifactError(
                    f"downloading {remote_url}: the file is empty; "
                    "pass skip_zero_size_check=True to accept it"
                )
            if local_folder is None:
                return cached
            dest = Path(local_folder) / Path(cached).name
            if dest.exists() and not overwrite:
                return str(dest)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(cached, dest)
            return str(dest)
        except (TaskmillError, OSError):
            if silence_errors:
                return None
            raise

    @classmethod
    def get_stream(cls, remote_url: str, chunk_size: int | None = None) -> Iterator[bytes]:
        """The bytes of ``remote_url`` in chunks of ``chunk_size`` (default 1 MiB), read from the
        cached local copy (downloaded first when remote). A generator: reading is lazy."""
        size = int(chunk_size or 1 << 20)
        path = cls.get_local_copy(remote_url, extract_archive=False)
        with open(path, "rb") as handle:
            while chunk := handle.read(size):
                yield chunk

    @classmethod
    def get_files_server(cls) -> str:
        """Where artifacts go by default: the configured location, or the server's with a server
        store (ClearML's files server)."""
        artifacts = PROCESS.session().artifacts
        return str(getattr(artifacts, "files_server", "") or artifacts.default_uri)

    @classmethod
    def exists_file(cls, remote_url: str) -> bool:
        """True when a file (not a folder) is at ``remote_url``. Blocking (one request)."""
        fs, path = _fs(remote_url)
        with translated(f"checking {remote_url}", remote_url, writing=False):
            return bool(fs.isfile(path))

    @classmethod
    def get_file_size_bytes(cls, remote_url: str, silence_errors: bool = False) -> int | None:
        """The size of the file at ``remote_url`` in bytes; None when it cannot be read and
        ``silence_errors`` (else the error is raised). Blocking."""
        try:
            fs, path = _fs(remote_url)
            with translated(f"sizing {remote_url}", remote_url, writing=False):
                return int(fs.size(path))
        except (TaskmillError, OSError):
            if silence_errors:
                return None
            raise

    @classmethod
    def list(
        cls,
        remote_url: str,
        return_full_path: bool = False,
        with_metadata: bool = False,
        read_hash: bool = False,
    ) -> list[Any]:
        """Files under ``remote_url`` (recursively), as paths relative to it, or full URLs with
        ``return_full_path``; with ``with_metadata`` dicts of ``name`` and ``size`` (and ``hash``
        with ``read_hash``: what the storage reports, e.g. an S3 ETag; None for local files). Blocking."""
        fs, root = _fs(remote_url)
        with translated(f"listing {remote_url}", remote_url, writing=False):
            found = fs.find(root, detail=True)
        out: list[Any] = []
        base = root.rstrip("/")
        for path, info in sorted(found.items()):
            rel = path[len(base) :].lstrip("/") if path.startswith(base) else path
            name = f"{remote_url.rstrip('/')}/{rel}" if return_full_path else rel
            entry: dict[str, Any] = {"name": name, "size": info.get("size")}
            if read_hash:
                entry["hash"] = _storage_hash(info)
            out.append(entry if with_metadata else name)
        return out

    @classmethod
    def get_metadata(
        cls, remote_url: str, return_full_path: bool = False, read_hash: bool = False
    ) -> dict[str, Any] | None:
        """``{"name", "size"}`` of the object at ``remote_url`` (and ``hash`` with ``read_hash``,
        see ``list``), or None when nothing is there. Blocking."""
        fs, path = _fs(remote_url)
        with translated(f"reading {remote_url}", remote_url, writing=False):
            if not fs.exists(path):
                return None
            info = fs.info(path)
        name = remote_url if return_full_path else path.rstrip("/").rsplit("/", 1)[-1]
        meta: dict[str, Any] = {"name": name, "size": info.get("size")}
        if read_hash:
            meta["hash"] = _storage_hash(info)
        return meta

    @classmethod
    def upload_folder(
        cls,
        local_folder: str | Path,
        remote_url: str,
        match_wildcard: str | None = None,
        retries: int | None = None,
    ) -> str:
        """Copy the files of ``local_folder`` (those matching ``match_wildcard``, e.g. ``*.json``)
        under ``remote_url``, keeping their relative paths; returns ``remote_url``. Blocking."""
        folder = Path(local_folder)
        if not folder.is_dir():
            raise ValueError(f"no folder at '{folder}'; upload_folder copies an existing folder")
        for file in sorted(p for p in folder.rglob(match_wildcard or "*") if p.is_file()):
            rel = file.relative_to(folder).as_posix()
            cls.upload_file(file, f"{remote_url.rstrip('/')}/{rel}")
        return remote_url

    @classmethod
    def download_folder(
        cls,
        remote_url: str,
        local_folder: str | None = None,
        match_wildcard: str | None = None,
        overwrite: bool = False,
        skip_zero_size_check: bool = False,
        silence_errors: bool = False,
        max_workers: int | None = None,
    ) -> str | None:
        """Copy the files under ``remote_url`` (those matching ``match_wildcard``) into
        ``local_folder`` (default: a folder in the cache), keeping their relative paths; returns
        the folder, or None on error with ``silence_errors``. Blocking."""
        import fnmatch
        import shutil

        try:
            names = cls.list(remote_url)
            target = Path(local_folder) if local_folder else Path(_cache_folder(remote_url))
            for rel in names:
                if match_wildcard and not fnmatch.fnmatch(rel.rsplit("/", 1)[-1], match_wildcard):
                    continue
                dest = target / rel
                if dest.exists() and not overwrite:
                    continue
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(
                    cls.get_local_copy(f"{remote_url.rstrip('/')}/{rel}", extract_archive=False), dest
                )
        except (TaskmillError, OSError):
            if silence_errors:
                return None
            raise
        return str(target)

    @classmethod
    def set_cache_file_limit(cls, cache_file_limit: int, cache_context: str | None = None) -> int:
        """Accepted for ClearML code; taskmill's cache keeps every download. Returns the limit."""
        return cache_file_limit

    @classmethod
    def set_report_upload_chunk_size(cls, chunk_size_mb: int) -> None:
        """Accepted for ClearML code (taskmill reports no per-chunk upload progress)."""

    @classmethod
    def set_report_download_chunk_size(cls, chunk_size_mb: int) -> None:
        """Accepted for ClearML code (taskmill reports no per-chunk download progress)."""


def _storage_hash(info: dict[str, Any]) -> str | None:
    """The content hash a storage backend reports in its listing (S3/GCS ETag, md5), if any."""
    for key in ("ETag", "etag", "md5Hash", "md5", "content_md5"):
        if info.get(key):
            return str(info[key]).strip('"')
    return None


def _fs(url: str) -> tuple[Any, str]:
    return PROCESS.session().artifacts.filesystem(url)


def translated(what: str, url: str, *, writing: bool) -> AbstractContextManager[None]:
    """I/O errors as ArtifactError naming ``what`` (imported on use: ``import taskmill`` stays
    free of fsspec)."""
    from taskmill.artifacts import transfer

    return transfer.translated(what, url, writing=writing)


def _cache_folder(remote_url: str) -> str:
    """A folder in the download cache for the files under ``remote_url``."""
    from taskmill.artifacts.transfer import cache_key

    home = PROCESS.session().settings.home
    return str(Path(home) / "cache" / "folders" / cache_key(remote_url))
