"""A dataset version's description: tags, description, metadata, its logger, publishing, its
place among versions (rename and move apply to every version of the dataset), the dependency graph.

Every setter is one store write (``rename``/``move_to_project``: one per version) and blocks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from taskmill.api.dataset_core import DatasetCore
from taskmill.api.dataset_layout import find_versions, hidden_project
from taskmill.api.logger import Logger
from taskmill.api.session import PROCESS
from taskmill.api.unsupported import INTERNAL, OFFLINE, unsupported
from taskmill.errors import ConflictError, NotFoundError


class DatasetInfo(DatasetCore):
    """Describing a version and its dataset (a part of ``Dataset``)."""

    set_offline = unsupported(OFFLINE)
    get_offline_mode_folder = unsupported(OFFLINE)
    import_offline_session = unsupported(OFFLINE)
    update_changed_files = unsupported(INTERNAL)

    @staticmethod
    def is_offline() -> bool:
        """Always False: taskmill records to its store (a local file by default), never offline."""
        return False

    def get_logger(self) -> Logger:
        """The logger of the dataset's task: previews (tables, plots) reported on the dataset."""
        return self._task.get_logger()

    def add_tags(self, tags: str | Sequence[str]) -> None:
        """Add user tags (duplicates ignored)."""
        self._task.add_tags(tags)

    def set_description(self, description: str) -> None:
        """Set the version's description."""
        self._task.set_comment(description)

    @property
    def description(self) -> str:
        """The version's description."""
        return self._task.comment

    def publish(self, raise_on_error: bool = True) -> bool:
        """Publish a finalized version (read-only for good). A draft raises ConflictError, or
        returns False without ``raise_on_error``."""
        if not self.is_final():
            if raise_on_error:
                raise ConflictError(
                    f"dataset '{self.name}' ({self.id}) is not finalized; finalize() it before publish()"
                )
            return False
        self._task.publish()
        return True

    def set_metadata(self, metadata: Any, metadata_name: str = "metadata", ui_visible: bool = True) -> None:
        """Store ``metadata`` (a DataFrame, dict, or any object an artifact can hold) as the
        artifact ``metadata_name`` of the version; with ``ui_visible`` a DataFrame is also reported
        as a table of that name. Replaces an earlier value. Blocking."""
        if metadata_name in ("data", "state"):
            raise ValueError(f"metadata_name '{metadata_name}' is reserved; choose another name")
        self._task.upload_artifact(metadata_name, metadata)
        if ui_visible and type(metadata).__name__ == "DataFrame":
            self.get_logger().report_table(metadata_name, "metadata", table_plot=metadata)

    def get_metadata(self, metadata_name: str = "metadata") -> Any:
        """The object stored with ``set_metadata``, or None when there is none."""
        artifacts = self._task.artifacts
        return artifacts[metadata_name].get() if metadata_name in artifacts else None

    def get_dependency_graph(self) -> dict[str, list[str]]:
        """``{version id: [parent ids]}`` for this version and all its ancestors."""
        graph: dict[str, list[str]] = {}
        todo = [self.id]
        while todo:
            current = todo.pop()
            if current in graph:
                continue
            parents = self._resolve(current).get_parents()
            graph[current] = parents
            todo.extend(parents)
        return graph

    @classmethod
    def rename(cls, new_dataset_name: str, dataset_project: str, dataset_name: str) -> None:
        """Rename a dataset: every version of ``dataset_project``/``dataset_name``. NotFoundError
        when there is none."""
        _relocate(dataset_project, dataset_name, project=dataset_project, name=new_dataset_name)

    @classmethod
    def move_to_project(cls, new_dataset_project: str, dataset_project: str, dataset_name: str) -> None:
        """Move every version of ``dataset_project``/``dataset_name`` to ``new_dataset_project``."""
        _relocate(dataset_project, dataset_name, project=new_dataset_project, name=dataset_name)

    def get_default_storage(self) -> str:
        """Where this version's files are uploaded (its task's output location)."""
        return self._task.output_uri

    @property
    def file_entries(self) -> list[dict[str, Any]]:
        """The file entries as a list of dicts (``relative_path`` plus ``file_entries_dict``'s fields)."""
        return [{"relative_path": rel, **entry} for rel, entry in sorted(self.file_entries_dict.items())]

    @property
    def link_entries(self) -> list[dict[str, Any]]:
        """External links of the version: always empty (``add_external_files`` stores the files)."""
        return []

    @property
    def link_entries_dict(self) -> dict[str, dict[str, Any]]:
        """External links by path: always empty (see ``link_entries``)."""
        return {}


def _relocate(dataset_project: str, dataset_name: str, *, project: str, name: str) -> None:
    """Give every version of ``dataset_project``/``dataset_name`` the dataset ``project``/``name``
    (one batch); NotFoundError when there is no version."""
    versions = find_versions(dataset_project, dataset_name)
    if not versions:
        raise NotFoundError(f"no dataset named '{dataset_name}' in project '{dataset_project}'")
    store = PROCESS.session().store
    fields: dict[str, object] = {"project": hidden_project(project, name)}
    if name != dataset_name:
        fields["name"] = name
    with store.batch():
        for record in versions:
            store.update_task(record.id, **fields)
