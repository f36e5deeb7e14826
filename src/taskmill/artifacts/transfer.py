"""Moving bytes: URLs, fsspec filesystems, atomic local writes, downloads, zip extraction, I/O errors.

Everything here works on paths and URLs, never on artifact records or Python objects: the record
logic is in :mod:`taskmill.artifacts.storage`, the object logic in the serializers. Local paths
(plain or ``file://``) are handled with ``os`` calls so they can be written atomically and read in
place; every other URL goes through fsspec, except ``http(s)`` downloads when ``aiohttp`` (which
fsspec's HTTP filesystem needs) is not installed: those stream through ``urllib``.
:func:`translated` turns the many ways storage fails (``OSError``, botocore, aiohttp, pyarrow)
into one :class:`~taskmill.errors.ArtifactError` with a fix-it hint.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import os
import re
import shutil
import urllib.error
import urllib.request
import uuid
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from typing import Any

import fsspec

from taskmill.errors import ArtifactError, TaskmillError

#: Characters kept as-is in path segments built from task ids and artifact names.
_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._\-]")
#: URL schemes that name the local file system.
_LOCAL_SCHEMES = ("file", "local")
#: Seconds to wait for an HTTP server before giving up (urllib path only).
HTTP_TIMEOUT = 60.0


def scheme(url: str) -> str:
    """``"s3"`` for ``s3://b/k``; ``""`` for a plain path."""
    head, sep, _ = url.partition("://")
    return head.lower() if sep and head.isidentifier() else ""


def is_local(url: str) -> bool:
    """True for plain paths and ``file://``/``local://`` URLs."""
    return scheme(url) in ("", *_LOCAL_SCHEMES)


def is_http(url: str) -> bool:
    """True for ``http://`` and ``https://`` URLs."""
    return scheme(url) in ("http", "https")


def local_path(url: str) -> str:
    """Absolute local path of a plain path or ``file://`` URL."""
    if scheme(url) in _LOCAL_SCHEMES:
        url = url.partition("://")[2]
    return os.path.abspath(os.path.expanduser(url))


def join(base: str, *parts: str) -> str:
    """Append path segments to a local path or a URL (URLs always use ``/``)."""
    if is_local(base):
        return os.path.join(local_path(base), *parts)
    return "/".join([base.rstrip("/"), *parts])


def basename(url: str) -> str:
    """Last segment of a path or URL, without query string or fragment."""
    path = url.split("?", 1)[0].split("#", 1)[0].rstrip("/")
    return path.rsplit("/", 1)[-1] if path else ""


def path_segment(name: str) -> str:
    """A name made safe as one path segment (no ``/``, ``..``, ``:`` or spaces).

    Names that had to change get a short hash suffix, so two different names never collide
    (``a/b`` and ``a_b`` land in different folders).
    """
    safe = _UNSAFE_CHARS.sub("_", name).lstrip(".")[:100]
    if safe == name:
        return safe
    return f"{safe or 'artifact'}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def safe_filename(filename: str) -> str:
    """Like :func:`path_segment`, keeping the extension readable (``a b.csv`` -> ``a_b-<hash8>.csv``)."""
    stem, ext = os.path.splitext(filename)
    return path_segment(stem) + _UNSAFE_CHARS.sub("_", ext)


def cache_key(*parts: str) -> str:
    """A short, filesystem-safe key for cache entries derived from ``parts``."""
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


def filesystem(url: str, storage_options: Mapping[str, Any]) -> tuple[Any, str]:
    """The fsspec filesystem and in-filesystem path for a remote URL.

    ``storage_options`` are passed to object stores (S3 and the like) but not to HTTP, whose
    filesystem would hand them to aiohttp. fsspec caches filesystem instances by arguments.
    """
    options = {} if is_http(url) else dict(storage_options)
    fs, path = fsspec.core.url_to_fs(url, **options)
    return fs, path


def new_temp_file(folder: str, suffix: str = "") -> str:
    """Create an empty, uniquely named ``.tmp-*`` file in ``folder``; returns its path.

    Unlike ``tempfile.mkstemp`` (mode 0600) the file gets the usual permissions (0666 minus the
    umask): it becomes the artifact itself, which other users (a server, an agent) must read.
    """
    path = os.path.join(folder, f".tmp-{uuid.uuid4().hex}{suffix}")
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    return path


def new_temp_dir(folder: str) -> str:
    """Create a uniquely named ``.tmp-*`` folder in ``folder`` with the usual permissions."""
    path = os.path.join(folder, f".tmp-{uuid.uuid4().hex}")
    os.mkdir(path, 0o777)
    return path


def _fsync(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_file(final_path: str) -> Iterator[str]:
    """Yield a temporary path next to ``final_path``; on success make it ``final_path`` atomically.

    The caller writes the temporary file (any way it likes); it is locked (shared ``flock``)
    until the block ends, so garbage collection never takes it from a live writer. When the
    block exits normally the file is fsynced and renamed over ``final_path`` with
    ``os.replace``: readers see the old file or the new one, never a partial one, and a reader
    that has the old file open or memory-mapped keeps reading the old bytes. On an exception
    the temporary file is removed.
    """
    folder = os.path.dirname(final_path)
    os.makedirs(folder, exist_ok=True)
    tmp = new_temp_file(folder, os.path.splitext(final_path)[1])
    # A shared lock on the file while it is written tells `store gc` (taskmill.artifacts.gc)
    # that its writer is alive: gc removes only temporary files it can lock exclusively.
    held = os.open(tmp, os.O_RDONLY)
    try:
        fcntl.flock(held, fcntl.LOCK_SH)
        yield tmp
        _fsync(tmp)  # durable before visible: the record pointing here may be committed next
        os.replace(tmp, final_path)
    except BaseException:
        with suppress(OSError):
            os.remove(tmp)
        raise
    finally:
        os.close(held)
    # The rename itself must survive a crash too; a failure here leaves a valid file behind.
    with suppress(OSError):
        _fsync(folder)


def download(url: str, dest: str, storage_options: Mapping[str, Any]) -> None:
    """Copy the remote file at ``url`` to the local path ``dest`` (blocking, overwrites ``dest``).

    Raises:
        FileNotFoundError: If nothing exists at ``url``.
        OSError: Or a library error (botocore, aiohttp) for other failures; callers translate them.
    """
    if is_http(url):
        download_http(url, dest)
        return
    fs, path = filesystem(url, storage_options)
    fs.get_file(path, dest)


def download_http(url: str, dest: str, *, use_fsspec: bool | None = None) -> None:
    """Download an ``http(s)`` URL to ``dest``, streaming (constant memory).

    Args:
        url: The URL.
        dest: Local file to write (overwritten).
        use_fsspec: Use fsspec's HTTP filesystem (True) or ``urllib`` (False); by default fsspec
            when ``aiohttp`` is installed, since taskmill does not depend on it.

    Raises:
        FileNotFoundError: On HTTP 404/410.
        OSError: For other HTTP or network failures.
    """
    if use_fsspec is None:
        use_fsspec = importlib.util.find_spec("aiohttp") is not None
    if use_fsspec:
        fsspec.filesystem(scheme(url)).get_file(url, dest)
        return
    try:
        with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT) as response, open(dest, "wb") as out:
            shutil.copyfileobj(response, out, length=1 << 20)
    except urllib.error.HTTPError as exc:
        if exc.code in (404, 410):
            raise FileNotFoundError(f"HTTP {exc.code} for {url}") from exc
        raise OSError(f"HTTP {exc.code} {exc.reason} for {url}") from exc
    except urllib.error.URLError as exc:
        raise OSError(f"cannot reach {url}: {exc.reason}") from exc


def extract_zip(zip_path: str, dest: str, *, force: bool = False) -> str:
    """Extract ``zip_path`` into the folder ``dest`` once; returns ``dest``.

    Idempotent and safe with concurrent callers: the archive is extracted into a temporary
    sibling folder that is renamed to ``dest``; whoever renames second discards its copy. An
    existing ``dest`` is reused unless ``force``. Member names are sanitized by ``zipfile``
    (absolute paths and ``..`` cannot escape ``dest``).
    """
    if os.path.isdir(dest) and not force:
        return dest
    parent = os.path.dirname(dest)
    os.makedirs(parent, exist_ok=True)
    staging = new_temp_dir(parent)
    try:
        with zipfile.ZipFile(zip_path) as archive:
            archive.extractall(staging)
        if force:
            shutil.rmtree(dest, ignore_errors=True)
        try:
            os.rename(staging, dest)
        except OSError:
            if not os.path.isdir(dest):
                raise
            shutil.rmtree(staging, ignore_errors=True)  # another process won the race
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return dest


# -- error translation ---------------------------------------------------------------------------

#: Top-level packages whose exceptions mean "the storage failed" (translated, never leaked).
_FOREIGN_IO_PACKAGES = ("botocore", "aiobotocore", "s3fs", "fsspec", "aiohttp", "pyarrow", "urllib3")


def _is_io_error(exc: BaseException) -> bool:
    # Checked by module name so that botocore and friends need not be imported to be recognised.
    package = type(exc).__module__.partition(".")[0]
    return isinstance(exc, OSError | zipfile.BadZipFile) or package in _FOREIGN_IO_PACKAGES


def _hint(url: str, writing: bool) -> str:
    """How to fix a storage failure at ``url``."""
    if is_local(url):
        return "check that the folder exists or can be created, is writable and the disk has space"
    if is_http(url):
        return "check that the URL is right and the server answers"
    action = "writing to" if writing else "reading from"
    return (
        f"check that the bucket exists and that the credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
        f"AWS_ENDPOINT_URL or storage_options) allow {action} it"
    )


@contextmanager
def translated(what: str, url: str, *, writing: bool) -> Iterator[None]:
    """Turn foreign I/O errors raised in the block into :class:`ArtifactError` naming ``what``."""
    try:
        yield
    except TaskmillError:
        raise
    except Exception as exc:
        if not _is_io_error(exc):
            raise
        verb = "write" if writing else "read"
        raise ArtifactError(f"{what}: cannot {verb} {url}: {exc}; {_hint(url, writing)}") from exc
