"""The base of ``Dataset``: a dataset version's task, its file manifest, and its read-only fields.

Layout and semantics: see :mod:`taskmill.api.dataset`. The mixins :mod:`~taskmill.api.dataset_lookup`
(create, find, delete, squash), :mod:`~taskmill.api.dataset_draft` (changing a draft) and
:mod:`~taskmill.api.dataset_reading` (reading the content) build on :class:`DatasetCore`.
"""

from __future__ import annotations

import json
from typing import Any, Self

from taskmill.api.dataset_layout import CONTENT, DATA_ARTIFACT, SYSTEM_TAG, parents_of, split_project
from taskmill.api.file_manifest import Entry, FileManifest
from taskmill.api.session import PROCESS
from taskmill.api.task import Task
from taskmill.core.model import TaskRecord
from taskmill.errors import ConflictError, NotFoundError


class DatasetCore:
    """One version of a dataset: a mutable draft until ``finalize``, read-only afterwards."""

    def __init__(self, task: Task) -> None:
        """Wrap a dataset task. Users get datasets from ``Dataset.create`` and ``Dataset.get``."""
        self._task = task
        self._manifest = FileManifest.from_content(task.get_configuration_object_as_dict(CONTENT) or {})
        self._parent_files: dict[str, Entry] | None = None

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
        return split_project(self._task.data)[0]

    @property
    def tags(self) -> list[str]:
        """User tags (assigning replaces them)."""
        return self._task.get_tags()

    @tags.setter
    def tags(self, values: list[str]) -> None:
        self._task.set_tags(list(values))

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
        return self._manifest.public()

    def get_parents(self) -> list[str]:
        """Ids of the parent versions."""
        return parents_of(self._task.data)

    def is_final(self) -> bool:
        """True once finalized (the task is completed or published)."""
        return self._task._fresh().status.succeeded

    def get_num_chunks(self, include_parents: bool = True) -> int:
        """Number of stored ``data`` chunks holding the content (one per version with own files)."""
        owners = self._manifest.owners()
        return len(owners) if include_parents else int(self.id in owners)

    # == internals ============================================================================

    @classmethod
    def _wrap(cls, record: TaskRecord) -> Self:
        return cls(Task(record, PROCESS.session()))

    @classmethod
    def _resolve(cls, dataset: str | DatasetCore) -> Self:
        if isinstance(dataset, cls):
            return dataset
        if isinstance(dataset, DatasetCore):
            dataset = dataset.id
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
                merged.update(self._resolve(pid)._manifest.files)
            self._parent_files = merged
        return self._parent_files

    def _stored_folder(self, dataset_id: str) -> str:
        """The extracted folder of the ``data`` artifact of version ``dataset_id``."""
        task = self._task if dataset_id == self.id else Task.get_task(task_id=dataset_id)
        folder = task.artifacts[DATA_ARTIFACT].get_local_copy(raise_on_error=True)
        assert folder is not None  # raise_on_error: never None
        return folder

    def _save(self) -> None:
        self._task.set_configuration_object(
            CONTENT, config_text=json.dumps(self._manifest.to_content(), indent=1), config_type="json"
        )

    def __repr__(self) -> str:
        return f"Dataset(name={self.name!r}, project={self.project!r}, id={self.id!r})"
