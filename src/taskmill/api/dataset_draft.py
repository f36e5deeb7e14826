"""Changing a draft dataset version: files, upload, finalize (a part of ``Dataset``).

Adding and removing files only records them (hash and size) in the manifest; ``upload`` stores the
bytes; ``finalize`` makes the version read-only. Every call blocks until stored.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path

from taskmill.api.dataset_core import DatasetCore
from taskmill.api.dataset_layout import DATA_ARTIFACT
from taskmill.api.file_manifest import FileManifest, copy_file
from taskmill.errors import ConflictError

logger = logging.getLogger("taskmill.api.dataset")


class DatasetDraft(DatasetCore):
    """Changing a draft version (a part of ``Dataset``)."""

    # == changing a draft =====================================================================

    def add_files(
        self,
        path: str | Path,
        wildcard: str | Sequence[str] | None = None,
        local_base_folder: str | Path | None = None,
        dataset_path: str | None = None,
        recursive: bool = True,
        verbose: bool = False,
        max_workers: int | None = None,
    ) -> int:
        """Add the file ``path``, or the files of the folder ``path`` (matching ``wildcard`` on
        their names or relative paths), under ``dataset_path``. Paths inside the dataset are
        relative to ``local_base_folder`` (default: the folder itself, or the file's folder).

        Only records the files (hash and size; bytes are stored by :meth:`upload`). Returns the
        number of files added or changed; a file identical (same path, same sha256) to the one
        already in the version or its parents is not counted and not stored again.
        """
        self._check_mutable("add files to")
        root = Path(path)
        found = FileManifest.collect(
            root,
            wildcard=wildcard,
            local_base_folder=local_base_folder,
            dataset_path=dataset_path,
            recursive=recursive,
        )
        if found is None:
            raise ValueError(f"dataset '{self.name}': no file or folder at '{root}'; check the path")
        changed = self._manifest.add(found, owner=self.id, parents=self._parents_files)
        if verbose:
            for rel in changed:
                logger.info(f"dataset '{self.name}': added {rel}")
        self._save()
        return len(changed)

    def remove_files(self, dataset_path: str, recursive: bool = True, verbose: bool = False) -> int:
        """Remove the files matching ``dataset_path`` (a relative path, a folder, or a wildcard
        such as ``images/*.png``); returns how many were removed. Only records the removal."""
        self._check_mutable("remove files from")
        matched = self._manifest.remove(
            dataset_path.strip("/"), recursive=recursive, parents=self._parents_files
        )
        if verbose:
            for rel in matched:
                logger.info(f"dataset '{self.name}': removed {rel}")
        self._save()
        return len(matched)

    def upload(
        self,
        show_progress: bool = True,
        verbose: bool = False,
        output_url: str | None = None,
        compression: int | None = None,
        chunk_size: int | None = None,
        max_workers: int | None = None,
        retries: int = 3,
        preview: bool = True,
        upload_as_external_links: bool = False,
    ) -> None:
        """Store this version's own new and changed files as the zipped artifact ``data`` of the
        dataset task, at ``output_url`` (which becomes the task's output_uri) or the task's
        output_uri. Blocking: the bytes are stored when it returns. No-op without pending files.

        With ``preview`` (ClearML's default) a table of the version's files (path, size) is
        reported on its logger. ``upload_as_external_links`` is accepted and ignored: the files
        are always stored in the version.
        """
        self._check_mutable("upload")
        if not self._manifest.pending:
            return
        if output_url:
            self._task.output_uri = output_url
        own = self._manifest.owned_by(self.id)
        previous = self._stored_folder(self.id) if DATA_ARTIFACT in self._task.artifacts else None
        with tempfile.TemporaryDirectory(prefix="taskmill-dataset-") as tmp:
            staging = Path(tmp) / "data"
            for rel, entry in own.items():
                stored = previous if rel not in self._manifest.pending else None
                copy_file(Path(stored) / rel if stored else Path(entry["local_path"]), staging / rel)
            self._task.upload_artifact(DATA_ARTIFACT, staging)
        self._manifest.pending.clear()
        self._save()
        if preview:
            rows: list[list[object]] = [["path", "size"]]
            rows += [
                [rel, entry.get("size", 0)] for rel, entry in sorted(self.file_entries_dict.items())[:100]
            ]
            self._task.get_logger().report_table("Dataset Content", "files", table_plot=rows)

    def is_dirty(self) -> bool:
        """True when files were added or changed but not uploaded yet."""
        return bool(self._manifest.pending)

    def sync_folder(
        self, local_path: str | Path, dataset_path: str | None = None, verbose: bool = False
    ) -> tuple[int, int]:
        """Make the files under ``dataset_path`` match the folder ``local_path``: files missing
        there are removed, new and changed ones added. Returns ``(removed, added or modified)``.
        Only records the changes (``upload`` stores the bytes)."""
        self._check_mutable("sync a folder into")
        folder = Path(local_path)
        if not folder.is_dir():
            raise ValueError(f"dataset '{self.name}': no folder at '{folder}' to sync from")
        prefix = (dataset_path or "").strip("/")
        local = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
        removed = 0
        for rel in self._manifest.matching(prefix, recursive=True):
            inner = rel[len(prefix) :].lstrip("/") if prefix else rel
            if inner not in local:
                removed += self.remove_files(rel, verbose=verbose)
        changed = self.add_files(folder, dataset_path=prefix or None, verbose=verbose) if local else 0
        return removed, changed

    def add_external_files(
        self,
        source_url: str | Sequence[str],
        wildcard: str | Sequence[str] | None = None,
        dataset_path: str | None = None,
        recursive: bool = True,
        verbose: bool = False,
        max_workers: int | None = None,
        read_hash: bool = False,
    ) -> int:
        """Add the files at ``source_url`` (a file URL, or a folder/prefix URL: every file under it
        matching ``wildcard``), under ``dataset_path``. Unlike ClearML, which records links, the
        files are downloaded (into the download cache) and stored in the version by ``upload``, so
        the version stays readable when the source changes. Returns the number added or changed."""
        from taskmill.api.storage_manager import StorageManager

        total = 0
        for url in [source_url] if isinstance(source_url, str) else list(source_url):
            if StorageManager.exists_file(url):
                local = StorageManager.get_local_copy(url, extract_archive=False)
                total += self.add_files(local, dataset_path=dataset_path, verbose=verbose)
                continue
            folder = StorageManager.download_folder(url)
            if folder is None:
                raise ValueError(f"dataset '{self.name}': nothing at '{url}'")
            total += self.add_files(
                folder, wildcard=wildcard, dataset_path=dataset_path, recursive=recursive, verbose=verbose
            )
        return total

    def finalize(self, verbose: bool = False, raise_on_error: bool = True, auto_upload: bool = False) -> bool:
        """Record the file entries (configuration object ``Dataset Content``) and mark the task
        completed: the version becomes read-only. Pending files raise ConflictError unless
        ``auto_upload`` (then they are uploaded first). Returns True on success, False on error
        when not ``raise_on_error``."""
        try:
            if self.is_final():
                raise ConflictError(f"dataset '{self.name}' ({self.id}) is already finalized")
            if self._manifest.pending:
                if not auto_upload:
                    raise ConflictError(
                        f"dataset '{self.name}' ({self.id}) has {len(self._manifest.pending)} file(s) not "
                        "uploaded; call upload() before finalize(), or finalize(auto_upload=True)"
                    )
                self.upload()
            self._manifest.seal()
            self._save()
            self._task.mark_completed(status_message="dataset finalized")
        except ConflictError:
            if raise_on_error:
                raise
            return False
        return True
