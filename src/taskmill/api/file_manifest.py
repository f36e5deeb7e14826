"""``FileManifest``: the file listing of one dataset version, and how it differs from its parents.

A manifest maps each relative path (``/``-separated) to an entry ``{"size", "hash", "parent_dataset_id"}``
(``hash``: sha256 hex; ``parent_dataset_id``: the version whose ``data`` artifact stores the bytes),
plus ``local_path`` while a draft's new file waits for upload. Next to it are the paths removed
relative to the parents and the paths pending upload. It is stored as the JSON of the version's
``Dataset Content`` configuration object (:meth:`to_content` / :meth:`from_content`).

Pure bookkeeping: the manifest never talks to the store. Adding files reads and hashes them
(blocking); everything else works on the listing in memory.
"""

from __future__ import annotations

import fnmatch
import hashlib
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

Entry = dict[str, Any]
_PUBLIC = ("size", "hash", "parent_dataset_id")


class FileManifest:
    """Files, removals and pending uploads of one dataset version (mutable; not thread-safe)."""

    def __init__(
        self,
        files: Mapping[str, Entry] | None = None,
        removed: Sequence[str] = (),
        pending: Sequence[str] = (),
    ) -> None:
        """A manifest with the given entries (copied), removed paths and paths pending upload."""
        self.files: dict[str, Entry] = {rel: dict(e) for rel, e in (files or {}).items()}
        self.removed: set[str] = set(removed)
        self.pending: set[str] = set(pending)

    @classmethod
    def from_content(cls, content: Mapping[str, Any]) -> FileManifest:
        """The manifest stored as ``content`` (the parsed ``Dataset Content`` object; {} = empty)."""
        return cls(content.get("files", {}), content.get("removed", []), content.get("pending", []))

    def to_content(self) -> dict[str, Any]:
        """The JSON-ready form stored in ``Dataset Content`` (paths sorted)."""
        return {
            "files": dict(sorted(self.files.items())),
            "removed": sorted(self.removed),
            "pending": sorted(self.pending),
        }

    # == changing ================================================================================

    @staticmethod
    def collect(
        root: Path,
        *,
        wildcard: str | Sequence[str] | None,
        local_base_folder: str | Path | None,
        dataset_path: str | None,
        recursive: bool,
    ) -> list[tuple[Path, str]] | None:
        """``(file, relative path in the dataset)`` of the file ``root`` or the files under the
        folder ``root`` that match ``wildcard`` (on their names or relative paths), sorted; None
        when ``root`` is neither a file nor a folder. Paths are relative to ``local_base_folder``
        (default: the folder itself, or the file's folder) and prefixed with ``dataset_path``."""
        if root.is_file():
            files = [root]
            base = Path(local_base_folder) if local_base_folder else root.parent
        elif root.is_dir():
            pattern = "**/*" if recursive else "*"
            files = sorted(p for p in root.glob(pattern) if p.is_file())
            base = Path(local_base_folder) if local_base_folder else root
        else:
            return None
        wildcards = [wildcard] if isinstance(wildcard, str) else list(wildcard or [])
        prefix = (dataset_path or "").strip("/")
        found: list[tuple[Path, str]] = []
        for file in files:
            rel = file.resolve().relative_to(base.resolve()).as_posix()
            if wildcards and not any(
                fnmatch.fnmatch(file.name, w) or fnmatch.fnmatch(rel, w) for w in wildcards
            ):
                continue
            found.append((file, f"{prefix}/{rel}" if prefix else rel))
        return found

    def add(
        self, files: Sequence[tuple[Path, str]], *, owner: str, parents: Callable[[], Mapping[str, Entry]]
    ) -> list[str]:
        """Record ``(file, relative path)`` pairs (hashing each file); returns the paths added or
        changed. A file identical (same path and sha256) to the current entry is skipped; one
        identical to the parents' entry takes that entry (its bytes are not stored again); any
        other becomes an entry of ``owner`` pending upload. ``parents`` (the merged parents'
        files) is called only when needed."""
        changed: list[str] = []
        for file, rel in files:
            digest = sha256(file)
            self.removed.discard(rel)
            if self.files.get(rel, {}).get("hash") == digest:
                continue
            inherited = parents().get(rel)
            if inherited is not None and inherited["hash"] == digest:
                self.files[rel] = dict(inherited)
                self.pending.discard(rel)
            else:
                self.files[rel] = {
                    "size": file.stat().st_size,
                    "hash": digest,
                    "parent_dataset_id": owner,
                    "local_path": str(file.resolve()),
                }
                self.pending.add(rel)
            changed.append(rel)
        return changed

    def remove(
        self, pattern: str, *, recursive: bool, parents: Callable[[], Mapping[str, Entry]]
    ) -> list[str]:
        """Drop the entries matching ``pattern`` (see :meth:`matching`); those the parents have are
        recorded as removed. Returns the dropped paths."""
        matched = [rel for rel in self.files if matches(rel, pattern, recursive=recursive)]
        for rel in matched:
            del self.files[rel]
            self.pending.discard(rel)
            if rel in parents():
                self.removed.add(rel)
        return matched

    def seal(self) -> None:
        """Forget the local paths of uploaded files (a finalized version refers to stored bytes only)."""
        for entry in self.files.values():
            entry.pop("local_path", None)

    def materialize(self, target: Path, *, folder_of: Callable[[str], str]) -> None:
        """Build the folder ``target`` with every file, read-only, copied from ``folder_of(owner)``
        (the extracted stored bytes of version ``owner``, asked once per owner). Blocking and atomic:
        built in a staging folder beside ``target`` and renamed; when another process built
        ``target`` first, its folder is kept and the staging folder dropped."""
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".tmp-", dir=target.parent))
        try:
            folders: dict[str, str] = {}
            for rel, entry in sorted(self.files.items()):
                owner = entry["parent_dataset_id"]
                if owner not in folders:
                    folders[owner] = folder_of(owner)
                copy_file(Path(folders[owner]) / rel, staging / rel)
                (staging / rel).chmod(0o444)
            try:
                staging.rename(target)
            except OSError:
                if not target.is_dir():
                    raise
                shutil.rmtree(staging, ignore_errors=True)  # another process built it first
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise

    # == reading =================================================================================

    def public(self) -> dict[str, dict[str, Any]]:
        """Relative path -> ``{"size", "hash", "parent_dataset_id"}``, sorted by path."""
        return {rel: {k: e[k] for k in _PUBLIC} for rel, e in sorted(self.files.items())}

    def matching(self, pattern: str, *, recursive: bool) -> list[str]:
        """Sorted paths matching ``pattern``: a path, a folder (its files; direct ones only unless
        ``recursive``) or a wildcard on paths (or, when ``recursive``, on file names); "" = all."""
        return sorted(rel for rel in self.files if not pattern or matches(rel, pattern, recursive=recursive))

    def owned_by(self, dataset_id: str) -> dict[str, Entry]:
        """The entries whose bytes version ``dataset_id`` stores."""
        return {rel: e for rel, e in self.files.items() if e["parent_dataset_id"] == dataset_id}

    def owners(self) -> set[str]:
        """Ids of the versions storing the bytes of these files."""
        return {e["parent_dataset_id"] for e in self.files.values()}

    def added_to(self, parents: Mapping[str, Entry]) -> list[str]:
        """Sorted paths not in ``parents``."""
        return sorted(rel for rel in self.files if rel not in parents)

    def modified_from(self, parents: Mapping[str, Entry]) -> list[str]:
        """Sorted paths in ``parents`` with other content here."""
        return sorted(
            rel for rel, e in self.files.items() if rel in parents and parents[rel]["hash"] != e["hash"]
        )

    def removed_from(self, parents: Mapping[str, Entry]) -> list[str]:
        """Sorted paths of ``parents`` missing here."""
        return sorted(rel for rel in parents if rel not in self.files)


def matches(rel: str, pattern: str, *, recursive: bool) -> bool:
    """Whether ``rel`` is ``pattern``, matches it as a wildcard, or lies in the folder ``pattern``."""
    if rel == pattern or fnmatch.fnmatch(rel, pattern):
        return True
    if rel.startswith(pattern + "/"):
        return recursive or "/" not in rel[len(pattern) + 1 :]
    return recursive and "/" not in pattern and fnmatch.fnmatch(rel.rsplit("/", 1)[-1], pattern)


def sha256(path: Path) -> str:
    """Hex sha256 of the file ``path``, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def copy_file(source: Path, dest: Path) -> None:
    """Copy the bytes of ``source`` to ``dest``, creating its folders."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, dest)
