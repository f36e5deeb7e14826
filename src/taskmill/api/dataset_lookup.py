"""Creating, finding, deleting and squashing dataset versions (a part of ``Dataset``).

Lookups read the store once; ``get`` by name picks the newest (last created) version. All calls
block until the store (and, for ``squash``, the artifact storage) has the result.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Self

from taskmill.api.dataset_core import DatasetCore
from taskmill.api.dataset_layout import (
    SUCCEEDED,
    SYSTEM_TAG,
    cache_dir,
    find_versions,
    hidden_project,
    next_version,
    parents_of,
    split_project,
)
from taskmill.api.session import PROCESS
from taskmill.api.task import Task
from taskmill.core.states import TaskStatus, TaskTypes
from taskmill.errors import ConflictError, NotFoundError
from taskmill.store.base import TaskFilter


class DatasetLookup(DatasetCore):
    """Class methods that create, find and delete dataset versions."""

    # == creating and finding datasets ========================================================

    @classmethod
    def create(
        cls,
        dataset_name: str | None = None,
        dataset_project: str | None = None,
        dataset_tags: Sequence[str] | None = None,
        parent_datasets: Sequence[str | DatasetCore] | None = None,
        use_current_task: bool = False,
        dataset_version: str | None = None,
        output_uri: str | None = None,
        description: str | None = None,
    ) -> Self:
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
        version = dataset_version or next_version(project, dataset_name)
        task = Task.create(
            project_name=hidden_project(project, dataset_name),
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
            dataset._manifest.files.update(parent._manifest.files)
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
        silence_alias_warnings: bool = False,
        **kwargs: Any,
    ) -> Self:
        """The dataset with ``dataset_id``, or the newest (last created) version matching
        ``dataset_project``/``dataset_name``/``dataset_tags``/``dataset_version``.

        Raises NotFoundError naming what was looked for, unless ``auto_create`` (then a new
        dataset is created). With ``writable_copy`` a finalized match is returned as a new mutable
        child version of it. ``alias``, ``overridable``, ``shallow_search`` and
        ``silence_alias_warnings`` are accepted and ignored (ClearML code passes them).
        """
        if dataset_id:
            found: Self | None = cls._resolve(dataset_id)
        else:
            if not dataset_name and not dataset_project and not dataset_tags:
                raise ValueError("Dataset.get needs dataset_id, or dataset_project/dataset_name/tags")
            status = (TaskStatus.published,) if only_published else SUCCEEDED if only_completed else ()
            records = find_versions(
                dataset_project,
                dataset_name,
                tags=dataset_tags,
                status=status,
                include_archived=include_archived,
            )
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
            status=SUCCEEDED if only_completed else (),
            order="-created",
        )
        out = []
        for record in PROCESS.session().store.find_tasks(flt):
            project, name = split_project(record)
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
            targets = [cls._wrap(r) for r in find_versions(dataset_project, dataset_name)]
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
            for record in find_versions(None, None):
                used = set(parents_of(record)) & ids
                if record.id not in ids and used:
                    raise ConflictError(
                        f"dataset {sorted(used)[0]} is a parent of dataset '{record.name}' "
                        f"({record.id}); delete that one first or pass force=True"
                    )
        for target in targets:
            target._task.delete(delete_artifacts_and_models=delete_files)
            shutil.rmtree(cache_dir(target.id), ignore_errors=True)

    @classmethod
    def squash(
        cls,
        dataset_name: str,
        dataset_ids: Sequence[str | DatasetCore] | None = None,
        dataset_project_name_pairs: Sequence[tuple[str, str]] | None = None,
        output_url: str | None = None,
        close_squashed_dataset: bool = True,
    ) -> Self:
        """A new version named ``dataset_name`` holding the merged content of the given finalized
        versions (ids, or the newest version of each ``(project, name)``), with no parents: every
        file is stored again in it (later datasets win on the same path). Finalized unless
        ``close_squashed_dataset`` is False. Blocking."""
        sources = [cls._resolve(d) for d in dataset_ids or ()]
        sources += [cls.get(dataset_project=p, dataset_name=n) for p, n in dataset_project_name_pairs or ()]
        if len(sources) < 2:
            raise ValueError(
                "Dataset.squash needs at least two datasets (dataset_ids= or dataset_project_name_pairs=)"
            )
        squashed = cls.create(
            dataset_name=dataset_name, dataset_project=sources[0].project, output_uri=output_url
        )
        for source in sources:
            squashed.add_files(source.get_local_copy())  # type: ignore[attr-defined]  # Dataset has it
        squashed.upload(preview=False)  # type: ignore[attr-defined]
        if close_squashed_dataset:
            squashed.finalize()  # type: ignore[attr-defined]
        return squashed
