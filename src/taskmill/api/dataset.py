"""``Dataset``: the commonly used part of ClearML's ``clearml-data`` on taskmill's store.

Storage layout (ClearML's hidden layout):

* A dataset version is a task of type ``data_processing`` with the system tag ``dataset``, named
  ``<dataset_name>``, in the project ``<dataset_project>/.datasets/<dataset_name>``.
* Its runtime properties hold ``version`` and ``dataset_parents`` (ids of the parent versions).
* The configuration object ``Dataset Content`` (JSON) holds the full file listing of the version
  (``files``: relative path -> ``size``, ``hash`` (sha256 hex), ``parent_dataset_id`` = the
  version whose ``data`` artifact stores the bytes) and ``removed`` (paths removed vs. parents).
* The version's own new and changed files are stored as one zipped-folder artifact ``data`` of the
  task (the task's ``output_uri`` decides where: local folder, ``s3://`` ...). Unchanged files
  (same relative path and sha256 as in a parent) are never stored again.
* ``get_local_copy()`` assembles the full content once per dataset id in
  ``$TASKMILL_HOME/cache/datasets/<id>`` and reuses that folder afterwards.

Differences from ClearML, on purpose: one ``data`` chunk per version (``chunk_size`` and
``compression`` are accepted and ignored; ``part``/``num_parts`` return the whole content);
``file_entries_dict`` maps to plain dicts; all calls are blocking.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import logging
import shutil
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from taskmill.api.session import PROCESS
from taskmill.api.task import Task
from taskmill.core.model import TaskRecord
from taskmill.core.states import SUCCEEDED_STATUSES, TaskStatus, TaskTypes
from taskmill.errors import ConflictError, NotFoundError
from taskmill.store.base import TaskFilter

logger = logging.getLogger(__name__)

SYSTEM_TAG = "dataset"
CONTENT = "Dataset Content"
DATA_ARTIFACT = "data"
_HIDDEN = "/.datasets/"
_SUCCEEDED = tuple(SUCCEEDED_STATUSES)  #: a dataset version is usable once its task ended well

Entry = dict[str, Any]


class Dataset:
    """One version of a dataset: a mutable draft until :meth:`finalize`, read-only afterwards."""

    def __init__(self, task: Task) -> None:
        """Wrap a dataset task. Users get datasets from :meth:`create` and :meth:`get`."""
        self._task = task
        content = task.get_configuration_object_as_dict(CONTENT) or {}
        self._files: dict[str, Entry] = dict(content.get("files", {}))
        self._removed: set[str] = set(content.get("removed", []))
        self._pending: set[str] = set(content.get("pending", []))
        self._parent_files: dict[str, Entry] | None = None

    # == creating and finding datasets ========================================================

    @classmethod
    def create(
        cls,
        dataset_name: str | None = None,
        dataset_project: str | None = None,
        dataset_tags: Sequence[str] | None = None,
        parent_datasets: Sequence[str | Dataset] | None = None,
        use_current_task: bool = False,
        dataset_version: str | None = None,
        output_uri: str | None = None,
        description: str | None = None,
    ) -> Dataset:
        """Create a new, mutable dataset version (blocking, one store write per field).

        ``parent_datasets`` (ids or Dataset objects) must be finalized; their files are inherited
        (later parents win on the same path). Without ``dataset_version`` the version is the
        newest version of the same project/name with its last number bumped, else ``1.0.0``.
        ``use_current_task`` is accepted for ClearML code; a new task is always created.
        """
        if not dataset_name:
            raise ValueError("Dataset.create needs dataset_name (and usually dataset_project)")
        project = dataset_project or "default"
        parents = [cls._resolve(p) for p in parent_datasets or ()]
        for parent in parents:
            if not parent.is_final():
                raise ValueError(
                    f"parent dataset '{parent.name}' ({parent.id}) is not finalized; "
                    "call finalize() on it before using it as a parent"
                )
        version = dataset_version or _next_version(project, dataset_name)
        task = Task.create(
            project_name=f"{project}{_HIDDEN}{dataset_name}",
            task_name=dataset_name,
            task_type=TaskTypes.data_processing,
        )
        task.set_system_tags([SYSTEM_TAG])
        if dataset_tags:
            task.set_tags(list(dataset_tags))
        if output_uri:
            task.output_uri = output_uri
        if description:
            task.set_comment(description)
        task.set_runtime_properties({"version": version, "dataset_parents": [p.id for p in parents]})
        dataset = cls(task)
        for parent in parents:
            dataset._files.update(parent._files)
        dataset._save()
        return dataset

    @classmethod
    def get(
        cls,
        dataset_id: str | None = None,
        dataset_project: str | None = None,
        dataset_name: str | None = None,
        dataset_tags: Sequence[str] | None = None,
        only_completed: bool = False,
        only_published: bool = False,
        include_archived: bool = False,
        auto_create: bool = False,
        writable_copy: bool = False,
        dataset_version: str | None = None,
        alias: str | None = None,
        overridable: bool = False,
        shallow_search: bool = False,
        **kwargs: Any,
    ) -> Dataset:
        """The dataset with ``dataset_id``, or the newest (last created) version matching
        ``dataset_project``/``dataset_name``/``dataset_tags``/``dataset_version``.

        Raises NotFoundError naming what was looked for, unless ``auto_create`` (then a new
        dataset is created). With ``writable_copy`` a finalized match is returned as a new mutable
        child version of it. ``alias``, ``overridable`` and ``shallow_search`` are accepted for
        ClearML code.
        """
        if dataset_id:
            found: Dataset | None = cls._resolve(dataset_id)
        else:
            if not dataset_name and not dataset_project and not dataset_tags:
                raise ValueError("Dataset.get needs dataset_id, or dataset_project/dataset_name/tags")
            status = (TaskStatus.published,) if only_published else _SUCCEEDED if only_completed else ()
            records = _find(dataset_project, dataset_name, dataset_tags, status, include_archived)
            if dataset_version:
                records = [r for r in records if r.runtime.get("version") == dataset_version]
            found = cls._wrap(records[0]) if records else None
        if found is None:
            if auto_create:
                return cls.create(
                    dataset_name, dataset_project, dataset_tags, dataset_version=dataset_version
                )
            raise NotFoundError(
                f"no dataset named '{dataset_name or '*'}' in project '{dataset_project or '*'}'"
                + (f" with tags {list(dataset_tags)}" if dataset_tags else "")
                + (f" and version '{dataset_version}'" if dataset_version else "")
                + ("; only completed ones were searched" if only_completed or only_published else "")
                + "; list datasets with Dataset.list_datasets() or pass auto_create=True"
            )
        if writable_copy and found.is_final():
            return cls.create(found.name, found.project, found.tags, parent_datasets=[found])
        return found

    @classmethod
    def list_datasets(
        cls,
        dataset_project: str | None = None,
        partial_name: str | None = None,
        tags: Sequence[str] | None = None,
        ids: Sequence[str] | None = None,
        only_completed: bool = True,
        recursive_project_search: bool = True,
        include_archived: bool = True,
    ) -> list[dict[str, Any]]:
        """Dicts (``id``, ``name``, ``project``, ``tags``, ``version``, ``created``) of the matching
        dataset versions, newest first. ``partial_name`` matches case-insensitively;
        ``recursive_project_search`` includes datasets of sub-projects of ``dataset_project``."""
        flt = TaskFilter(
            project=dataset_project,
            include_subprojects=True,
            name_contains=partial_name,
            tags=tuple(tags or ()),
            ids=tuple(ids or ()),
            system_tags=(SYSTEM_TAG,),
            status=_SUCCEEDED if only_completed else (),
            order="-created",
        )
        out = []
        for record in PROCESS.session().store.find_tasks(flt):
            project, name = _split_project(record)
            if dataset_project and not recursive_project_search and project != dataset_project:
                continue
            if not include_archived and "archived" in record.system_tags:
                continue
            out.append(
                {
                    "id": record.id,
                    "name": name,
                    "project": project,
                    "tags": list(record.tags),
                    "version": record.runtime.get("version", ""),
                    "created": datetime.fromtimestamp(record.created, tz=UTC),
                }
            )
        return out

    @classmethod
    def delete(
        cls,
        dataset_id: str | None = None,
        dataset_project: str | None = None,
        dataset_name: str | None = None,
        force: bool = False,
        dataset_version: str | None = None,
        entire_dataset: bool = False,
        shallow_search: bool = False,
        delete_files: bool = True,
        delete_external_files: bool = False,
    ) -> None:
        """Delete a dataset version (the given id, or the newest matching one; every version of
        the name with ``entire_dataset``): its task, its ``data`` bytes (``delete_files``) and its
        cached local copy. Refuses (ConflictError) a version other datasets use as a parent,
        unless ``force``. Blocking."""
        if dataset_id:
            targets = [cls._resolve(dataset_id)]
        elif entire_dataset:
            targets = [cls._wrap(r) for r in _find(dataset_project, dataset_name, None, (), True)]
        else:
            targets = [
                cls.get(
                    dataset_project=dataset_project,
                    dataset_name=dataset_name,
                    dataset_version=dataset_version,
                    include_archived=True,
                )
            ]
        if not targets:
            raise NotFoundError(f"no dataset named '{dataset_name}' in project '{dataset_project}'")
        ids = {t.id for t in targets}
        if not force:
            for record in _find(None, None, None, (), True):
                used = set(_parents(record)) & ids
                if record.id not in ids and used:
                    raise ConflictError(
                        f"dataset {sorted(used)[0]} is a parent of dataset '{record.name}' "
                        f"({record.id}); delete that one first or pass force=True"
                    )
        for target in targets:
            target._task.delete(delete_artifacts_and_models=delete_files)
            shutil.rmtree(_cache_dir(target.id), ignore_errors=True)

    # == properties ===========================================================================

    @property
    def id(self) -> str:
        """The dataset version's id (its task id)."""
        return self._task.id

    @property
    def name(self) -> str:
        """Dataset name."""
        return self._task.name

    @property
    def project(self) -> str:
        """Dataset project (without the hidden ``/.datasets/<name>`` part)."""
        return _split_project(self._task.data)[0]

    @property
    def tags(self) -> list[str]:
        """User tags."""
        return self._task.get_tags()

    @property
    def version(self) -> str:
        """Version string (e.g. ``1.0.2``)."""
        return str(self._task.data.runtime.get("version", ""))

    @property
    def parent_datasets(self) -> list[str]:
        """Ids of the parent versions."""
        return self.get_parents()

    @property
    def file_entries_dict(self) -> dict[str, dict[str, Any]]:
        """Relative path -> ``{"size", "hash", "parent_dataset_id"}`` of every file of the version
        (inherited ones included); ``parent_dataset_id`` is the version storing the bytes."""
        return {rel: _public(e) for rel, e in sorted(self._files.items())}

    def get_parents(self) -> list[str]:
        """Ids of the parent versions."""
        return _parents(self._task.data)

    def is_final(self) -> bool:
        """True once finalized (the task is completed or published)."""
        return self._task._fresh().status.succeeded

    def get_num_chunks(self, include_parents: bool = True) -> int:
        """Number of stored ``data`` chunks holding the content (one per version with own files)."""
        owners = {e["parent_dataset_id"] for e in self._files.values()}
        return len(owners) if include_parents else int(self.id in owners)

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
        if root.is_file():
            files = [root]
            base = Path(local_base_folder) if local_base_folder else root.parent
        elif root.is_dir():
            pattern = "**/*" if recursive else "*"
            files = sorted(p for p in root.glob(pattern) if p.is_file())
            base = Path(local_base_folder) if local_base_folder else root
        else:
            raise ValueError(f"dataset '{self.name}': no file or folder at '{root}'; check the path")
        wildcards = [wildcard] if isinstance(wildcard, str) else list(wildcard or [])
        prefix = (dataset_path or "").strip("/")
        changed = 0
        for file in files:
            rel = file.resolve().relative_to(base.resolve()).as_posix()
            if wildcards and not any(
                fnmatch.fnmatch(file.name, w) or fnmatch.fnmatch(rel, w) for w in wildcards
            ):
                continue
            rel = f"{prefix}/{rel}" if prefix else rel
            digest = _sha256(file)
            self._removed.discard(rel)
            if self._files.get(rel, {}).get("hash") == digest:
                continue
            inherited = self._parents_files().get(rel)
            if inherited is not None and inherited["hash"] == digest:
                self._files[rel] = dict(inherited)
                self._pending.discard(rel)
            else:
                self._files[rel] = {
                    "size": file.stat().st_size,
                    "hash": digest,
                    "parent_dataset_id": self.id,
                    "local_path": str(file.resolve()),
                }
                self._pending.add(rel)
            changed += 1
            if verbose:
                logger.info(f"dataset '{self.name}': added {rel}")
        self._save()
        return changed

    def remove_files(self, dataset_path: str, recursive: bool = True, verbose: bool = False) -> int:
        """Remove the files matching ``dataset_path`` (a relative path, a folder, or a wildcard
        such as ``images/*.png``); returns how many were removed. Only records the removal."""
        self._check_mutable("remove files from")
        pattern = dataset_path.strip("/")
        matched = [rel for rel in self._files if _matches(rel, pattern, recursive)]
        for rel in matched:
            del self._files[rel]
            self._pending.discard(rel)
            if rel in self._parents_files():
                self._removed.add(rel)
            if verbose:
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
    ) -> None:
        """Store this version's own new and changed files as the zipped artifact ``data`` of the
        dataset task, at ``output_url`` (which becomes the task's output_uri) or the task's
        output_uri. Blocking: the bytes are stored when it returns. No-op without pending files.
        """
        self._check_mutable("upload")
        if not self._pending:
            return
        if output_url:
            self._task.output_uri = output_url
        own = {rel: e for rel, e in self._files.items() if e["parent_dataset_id"] == self.id}
        previous = self._stored_folder(self.id) if DATA_ARTIFACT in self._task.artifacts else None
        with tempfile.TemporaryDirectory(prefix="taskmill-dataset-") as tmp:
            staging = Path(tmp) / "data"
            for rel, entry in own.items():
                stored = previous if rel not in self._pending else None
                _copy(Path(stored) / rel if stored else Path(entry["local_path"]), staging / rel)
            self._task.upload_artifact(DATA_ARTIFACT, staging)
        self._pending.clear()
        self._save()

    def finalize(self, verbose: bool = False, raise_on_error: bool = True, auto_upload: bool = False) -> bool:
        """Record the file entries (configuration object ``Dataset Content``) and mark the task
        completed: the version becomes read-only. Pending files raise ConflictError unless
        ``auto_upload`` (then they are uploaded first). Returns True on success, False on error
        when not ``raise_on_error``."""
        try:
            if self.is_final():
                raise ConflictError(f"dataset '{self.name}' ({self.id}) is already finalized")
            if self._pending:
                if not auto_upload:
                    raise ConflictError(
                        f"dataset '{self.name}' ({self.id}) has {len(self._pending)} file(s) not "
                        "uploaded; call upload() before finalize(), or finalize(auto_upload=True)"
                    )
                self.upload()
            for entry in self._files.values():
                entry.pop("local_path", None)
            self._save()
            self._task.mark_completed(status_message="dataset finalized")
        except ConflictError:
            if raise_on_error:
                raise
            return False
        return True

    # == reading ==============================================================================

    def list_files(
        self, dataset_path: str | None = None, recursive: bool = True, dataset_id: str | None = None
    ) -> list[str]:
        """Relative paths of the files (matching ``dataset_path`` when given), sorted."""
        files = self._resolve(dataset_id)._files if dataset_id else self._files
        pattern = (dataset_path or "").strip("/")
        return sorted(rel for rel in files if not pattern or _matches(rel, pattern, recursive))

    def list_added_files(self, dataset_id: str | None = None) -> list[str]:
        """Paths this version adds (not in any parent), sorted."""
        ds = self._resolve(dataset_id) if dataset_id else self
        parents = ds._parents_files()
        return sorted(rel for rel in ds._files if rel not in parents)

    def list_modified_files(self, dataset_id: str | None = None) -> list[str]:
        """Paths whose content differs from the parents', sorted."""
        ds = self._resolve(dataset_id) if dataset_id else self
        parents = ds._parents_files()
        return sorted(
            rel for rel, e in ds._files.items() if rel in parents and parents[rel]["hash"] != e["hash"]
        )

    def list_removed_files(self, dataset_id: str | None = None) -> list[str]:
        """Paths of the parents that this version removes, sorted."""
        ds = self._resolve(dataset_id) if dataset_id else self
        return sorted(rel for rel in ds._parents_files() if rel not in ds._files)

    def get_local_copy(
        self,
        use_soft_links: bool | None = None,
        part: int | None = None,
        num_parts: int | None = None,
        raise_on_error: bool = True,
        max_workers: int | None = None,
    ) -> str:
        """A read-only folder with the full content of this finalized version (parents' files
        merged, this version's changes and removals applied).

        Blocking. Built once per dataset id in ``$TASKMILL_HOME/cache/datasets/<id>`` (from the
        ``data`` artifacts of the versions holding the bytes, downloaded once) and reused
        afterwards. Do not modify it: use :meth:`get_mutable_local_copy` for a copy to change.
        """
        if not self.is_final():
            raise ConflictError(
                f"dataset '{self.name}' ({self.id}) is not finalized; finalize() it first, or "
                "use get_mutable_local_copy() on a finalized version"
            )
        target = _cache_dir(self.id)
        if target.is_dir():
            return str(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".tmp-", dir=target.parent))
        try:
            folders: dict[str, str] = {}
            for rel, entry in sorted(self._files.items()):
                owner = entry["parent_dataset_id"]
                if owner not in folders:
                    folders[owner] = self._stored_folder(owner)
                _copy(Path(folders[owner]) / rel, staging / rel)
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

    # == internals ============================================================================

    @classmethod
    def _wrap(cls, record: TaskRecord) -> Dataset:
        return cls(Task(record, PROCESS.session()))

    @classmethod
    def _resolve(cls, dataset: str | Dataset) -> Dataset:
        if isinstance(dataset, Dataset):
            return dataset
        record = PROCESS.session().store.get_task(dataset)
        if SYSTEM_TAG not in record.system_tags:
            raise NotFoundError(f"task {dataset} is not a dataset (no system tag '{SYSTEM_TAG}')")
        return cls._wrap(record)

    def _check_mutable(self, action: str) -> None:
        if self.is_final():
            raise ConflictError(
                f"cannot {action} dataset '{self.name}' ({self.id}): it is finalized; create a "
                f"new version with Dataset.create(parent_datasets=['{self.id}'])"
            )

    def _parents_files(self) -> dict[str, Entry]:
        if self._parent_files is None:
            merged: dict[str, Entry] = {}
            for pid in self.get_parents():
                merged.update(self._resolve(pid)._files)
            self._parent_files = merged
        return self._parent_files

    def _stored_folder(self, dataset_id: str) -> str:
        """The extracted folder of the ``data`` artifact of version ``dataset_id``."""
        task = self._task if dataset_id == self.id else Task.get_task(task_id=dataset_id)
        folder = task.artifacts[DATA_ARTIFACT].get_local_copy(raise_on_error=True)
        assert folder is not None  # raise_on_error: never None
        return folder

    def _save(self) -> None:
        content = {
            "files": dict(sorted(self._files.items())),
            "removed": sorted(self._removed),
            "pending": sorted(self._pending),
        }
        self._task.set_configuration_object(
            CONTENT, config_text=json.dumps(content, indent=1), config_type="json"
        )

    def __repr__(self) -> str:
        return f"Dataset(name={self.name!r}, project={self.project!r}, id={self.id!r})"


def _find(
    project: str | None,
    name: str | None,
    tags: Sequence[str] | None,
    status: tuple[TaskStatus, ...],
    include_archived: bool,
) -> list[TaskRecord]:
    """Dataset task records matching, newest first."""
    where: str | None = f"{project}/.datasets" if project else None
    sub = True
    if project and name:
        where, sub = f"{project}{_HIDDEN}{name}", False
    flt = TaskFilter(
        project=where,
        include_subprojects=sub,
        name=name,
        tags=tuple(tags or ()),
        system_tags=(SYSTEM_TAG,),
        status=status,
        order="-created",
    )
    found = PROCESS.session().store.find_tasks(flt)
    return [r for r in found if include_archived or "archived" not in r.system_tags]


def _next_version(project: str, name: str) -> str:
    found = _find(project, name, None, (), True)
    if not found:
        return "1.0.0"
    last = str(found[0].runtime.get("version", "1.0.0"))
    head, _, tail = last.rpartition(".")
    return f"{head}.{int(tail) + 1}" if tail.isdigit() else f"{last}.1"


def _split_project(record: TaskRecord) -> tuple[str, str]:
    """(dataset project, dataset name) of a dataset task."""
    project, sep, name = record.project.partition(_HIDDEN)
    return (project, name) if sep else (record.project, record.name)


def _parents(record: TaskRecord) -> list[str]:
    value = record.runtime.get("dataset_parents") or []
    return [str(v) for v in value] if isinstance(value, list) else []


def _public(entry: Entry) -> dict[str, Any]:
    return {k: entry[k] for k in ("size", "hash", "parent_dataset_id")}


def _matches(rel: str, pattern: str, recursive: bool) -> bool:
    if rel == pattern or fnmatch.fnmatch(rel, pattern):
        return True
    if rel.startswith(pattern + "/"):
        return recursive or "/" not in rel[len(pattern) + 1 :]
    return recursive and "/" not in pattern and fnmatch.fnmatch(rel.rsplit("/", 1)[-1], pattern)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _copy(source: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, dest)


def _cache_dir(dataset_id: str) -> Path:
    return Path(PROCESS.session().settings.home) / "cache" / "datasets" / dataset_id
