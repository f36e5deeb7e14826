"""Garbage left in a local artifact folder by killed writers: find it, and remove it on request.

Two kinds of garbage (``taskmill store gc``):

* **temporary files**: ``.tmp-*`` files and folders (:func:`~taskmill.artifacts.transfer.atomic_file`,
  :func:`~taskmill.artifacts.transfer.new_temp_dir`) and ``.*.part`` downloads whose writer died
  before renaming them;
* **unreferenced files**: artifact files no artifact or model record points at (a writer killed
  between writing the file and committing its record). The caller passes the referenced
  locations (:meth:`SqlTaskStore.referenced_uris`), since this layer does not read stores.

A live writer's files are never touched: the folders of tasks still running (``active``, the
``<root>/<task_id>`` folders of :class:`~taskmill.artifacts.storage.ArtifactStore`) are skipped
whole; elsewhere only files older than ``min_age`` seconds qualify (a record is committed
moments after its file is renamed into place), and a temporary file is removed only if an
exclusive ``flock`` on it succeeds (writers hold a shared one while writing).
:func:`find_garbage` only looks; :func:`collect` removes unless ``dry_run``. Blocking
(walks the folder); not atomic as a whole, each removal is.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from taskmill.artifacts import transfer

#: Default minimum age (seconds) of a file before gc may consider it garbage.
DEFAULT_MIN_AGE = 3600.0


@dataclass(frozen=True, slots=True)
class Garbage:
    """What gc found (and, unless ``dry_run``, removed) under ``root``; paths are absolute."""

    root: str
    temporary: tuple[str, ...] = ()
    unreferenced: tuple[str, ...] = ()
    size: int = 0  #: bytes the files take
    dry_run: bool = True

    @property
    def paths(self) -> tuple[str, ...]:
        """Every path found, temporary first."""
        return self.temporary + self.unreferenced


def _is_temporary(name: str) -> bool:
    return name.startswith(".tmp-") or (name.startswith(".") and name.endswith(".part"))


def _size(path: str) -> int:
    if os.path.isdir(path):
        return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path) for f in files)
    return os.path.getsize(path)


def _writer_alive(path: str) -> bool:
    """True if some process holds a lock on ``path`` (a writer still writing it)."""
    if os.path.isdir(path):
        return False  # folders carry no lock: their age alone decides
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return True  # vanished or unreadable: leave it alone
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def find_garbage(
    root: str,
    referenced: Iterable[str],
    *,
    min_age: float = DEFAULT_MIN_AGE,
    now: float | None = None,
    active: Iterable[str] = (),
) -> Garbage:
    """The garbage under the local folder ``root`` (nothing is removed).

    ``referenced``: every artifact and model location the store records (URIs or paths); files
    they name, or that lie inside a folder they name, are kept. ``active``: ids of tasks that
    may still write (not ended); their folders are kept whole. Raises ValueError for a
    remote ``root`` (only local folders are collected).
    """
    if not transfer.is_local(root):
        raise ValueError(f"store gc collects local artifact folders only, not {root}")
    base = os.path.abspath(transfer.local_path(root))
    keep = {os.path.abspath(transfer.local_path(u)) for u in referenced if transfer.is_local(u)}
    cutoff = (time.time() if now is None else now) - min_age
    busy = set(active)
    temporary: list[str] = []
    unreferenced: list[str] = []
    for folder, dirs, files in os.walk(base):
        if folder == base:
            dirs[:] = [d for d in dirs if d not in busy]  # a running task's writer may be mid-write
        for name in [d for d in dirs if _is_temporary(d)]:
            dirs.remove(name)  # a temporary folder is judged whole, not walked
            path = os.path.join(folder, name)
            if os.path.getmtime(path) < cutoff:
                temporary.append(path)
        if folder in keep:
            dirs.clear()  # a recorded folder artifact: everything in it is referenced
            continue
        for name in files:
            path = os.path.join(folder, name)
            try:
                old = os.path.getmtime(path) < cutoff
            except OSError:
                continue  # removed meanwhile
            if not old:
                continue
            if _is_temporary(name):
                if not _writer_alive(path):
                    temporary.append(path)
            elif path not in keep:
                unreferenced.append(path)
    found = sorted(temporary) + sorted(unreferenced)
    return Garbage(base, tuple(sorted(temporary)), tuple(sorted(unreferenced)), sum(map(_size, found)))


def collect(
    root: str,
    referenced: Iterable[str],
    *,
    dry_run: bool = True,
    min_age: float = DEFAULT_MIN_AGE,
    active: Iterable[str] = (),
    refresh: Callable[[], tuple[Iterable[str], Iterable[str]]] | None = None,
) -> Garbage:
    """Find the garbage under ``root`` (as :func:`find_garbage`) and remove it unless ``dry_run``.

    ``refresh`` (optional) reads ``(referenced, active)`` again: after the folder walk and before
    anything is removed, so a writer that started, or recorded its file, while the walk went on
    keeps its files (only what is garbage in both looks is removed). Temporary files are checked
    for a live writer again just before removal. Returns what was found (``dry_run`` tells
    whether it is still there).
    """
    found = find_garbage(root, referenced, min_age=min_age, active=active)
    if dry_run:
        return found
    doomed = set(found.paths)
    if refresh is not None and doomed:
        referenced_now, active_now = refresh()
        doomed &= set(find_garbage(root, referenced_now, min_age=min_age, active=active_now).paths)
    for path in (p for p in found.paths if p in doomed):
        if os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)
        elif not (_is_temporary(os.path.basename(path)) and _writer_alive(path)):
            try:
                os.remove(path)
            except FileNotFoundError:
                pass
    return Garbage(found.root, found.temporary, found.unreferenced, found.size, dry_run=False)
