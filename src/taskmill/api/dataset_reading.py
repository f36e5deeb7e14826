"""Reading a dataset version: file listings, diffs against parents, local copies (a part of ``Dataset``).

``get_local_copy`` builds the full content once per version id in the cache and reuses it; every
read blocks until the files are local.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from taskmill.api.dataset_core import DatasetCore
from taskmill.api.dataset_layout import cache_dir
from taskmill.api.file_manifest import sha256
from taskmill.errors import ConflictError


class DatasetReading(DatasetCore):
    """Reading the content of a version (a part of ``Dataset``)."""

    # == reading ==============================================================================

    def list_files(
        self, dataset_path: str | None = None, recursive: bool = True, dataset_id: str | None = None
    ) -> list[str]:
        """Relative paths of the files (matching ``dataset_path`` when given), sorted."""
        manifest = self._resolve(dataset_id)._manifest if dataset_id else self._manifest
        return manifest.matching((dataset_path or "").strip("/"), recursive=recursive)

    def list_added_files(self, dataset_id: str | None = None) -> list[str]:
        """Paths this version adds (not in any parent), sorted."""
        ds = self._resolve(dataset_id) if dataset_id else self
        return ds._manifest.added_to(ds._parents_files())

    def list_modified_files(self, dataset_id: str | None = None) -> list[str]:
        """Paths whose content differs from the parents', sorted."""
        ds = self._resolve(dataset_id) if dataset_id else self
        return ds._manifest.modified_from(ds._parents_files())

    def list_removed_files(self, dataset_id: str | None = None) -> list[str]:
        """Paths of the parents that this version removes, sorted."""
        ds = self._resolve(dataset_id) if dataset_id else self
        return ds._manifest.removed_from(ds._parents_files())

    def get_local_copy(
        self,
        use_soft_links: bool | None = None,
        part: int | None = None,
        num_parts: int | None = None,
        raise_on_error: bool = True,
        max_workers: int | None = None,
        files: Sequence[str] | None = None,
    ) -> str:
        """A read-only folder with the full content of this finalized version (parents' files
        merged, this version's changes and removals applied). ``part``/``num_parts`` and ``files``
        are accepted and ignored: the folder always holds every file (one chunk per version).

        Blocking. Built once per dataset id in ``$TASKMILL_HOME/cache/datasets/<id>`` (from the
        ``data`` artifacts of the versions holding the bytes, downloaded once) and reused
        afterwards. Do not modify it: use :meth:`get_mutable_local_copy` for a copy to change.
        """
        if not self.is_final():
            raise ConflictError(
                f"dataset '{self.name}' ({self.id}) is not finalized; finalize() it first, or "
                "use get_mutable_local_copy() on a finalized version"
            )
        target = cache_dir(self.id)
        if not target.is_dir():
            self._manifest.materialize(target, folder_of=self._stored_folder)
        return str(target)

    def get_mutable_local_copy(
        self,
        target_folder: str | Path,
        overwrite: bool = False,
        part: int | None = None,
        num_parts: int | None = None,
        raise_on_error: bool = True,
        max_workers: int | None = None,
    ) -> str:
        """Copy the full content into ``target_folder`` (writable); returns the folder. Refuses a
        non-empty folder (ValueError) unless ``overwrite`` (then its content is replaced)."""
        target = Path(target_folder)
        if target.is_dir() and any(target.iterdir()):
            if not overwrite:
                raise ValueError(
                    f"dataset '{self.name}': target folder '{target}' is not empty; "
                    "pass overwrite=True to replace its content"
                )
            shutil.rmtree(target)
        source = self.get_local_copy()
        shutil.copytree(source, target, dirs_exist_ok=True, copy_function=shutil.copyfile)
        return str(target)

    def verify_dataset_hash(
        self, local_copy_path: str | Path | None = None, skip_hash: bool = False, verbose: bool = False
    ) -> list[str]:
        """Check a local copy (default: ``get_local_copy()``) against the recorded entries: the
        paths that are missing, of another size, or (unless ``skip_hash``) of another sha256.
        An empty list means the copy is intact. Blocking (reads every file unless ``skip_hash``)."""
        root = Path(local_copy_path) if local_copy_path is not None else Path(self.get_local_copy())
        bad = []
        for rel, entry in sorted(self.file_entries_dict.items()):
            path = root / rel
            if (
                not path.is_file()
                or path.stat().st_size != entry.get("size")
                or (not skip_hash and sha256(path) != entry.get("hash"))
            ):
                bad.append(rel)
        return bad
