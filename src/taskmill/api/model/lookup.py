"""Finding stored models: ``Model`` (read-only, by id or query) and ``InputModel`` (a model to start
from, by id or by name/project/tags, connected to a task as an input).

Lookups scan the tasks, most recently updated first, and their model records through the store
API: linear in the number of tasks. Models are never archived: ``include_archived`` is accepted and
has no effect.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from taskmill.api.model.managed import ARCHIVED
from taskmill.api.model.reports import ModelReports
from taskmill.api.model.stored import META_KEY, ModelNotFoundError, StoredModel, locate, meta_of
from taskmill.api.session import PROCESS, Session, TaskLike
from taskmill.api.unsupported import unsupported
from taskmill.core.model import ModelRecord, TaskRecord, new_id
from taskmill.core.states import TaskStatus, TaskTypes
from taskmill.store.base import TaskFilter, TaskStore


def _output_models(store: TaskStore, project: str | None) -> Iterator[tuple[TaskRecord, ModelRecord]]:
    for task in store.find_tasks(TaskFilter(project=project) if project else None):
        for record in store.get_models(task.id):
            # a record kept by a task whose model another task took over: that model is found there
            if record.mode == "output" and not meta_of(task, record.id).get("source"):
                yield task, record


def _matches(
    record: ModelRecord,
    meta: dict[str, Any],
    *,
    name: str | None,
    tags: Sequence[str],
    only_published: bool,
    metadata: Mapping[str, Any],
    include_archived: bool = True,
) -> bool:
    have = set(meta.get("tags") or ())
    values = {k: v.get("value") for k, v in (meta.get("metadata") or {}).items()}
    return (
        (name is None or (meta.get("name") or record.name) == name)
        and all(t[1:] not in have if t.startswith("-") else t in have for t in tags)
        and (not only_published or bool(meta.get("published")))
        and (include_archived or ARCHIVED not in (meta.get("system_tags") or ()))
        and all(values.get(k) == str(v) for k, v in metadata.items())
    )


class Model(ModelReports):
    """A stored model, read-only (ClearML's ``Model``)."""

    remove = unsupported(
        "models live on the task that produced them; delete that task (Task.delete) or archive() the model"
    )

    def __init__(self, model_id: str) -> None:
        """Find model ``model_id``. Raises ModelNotFoundError naming the id."""
        session = PROCESS.session()
        super().__init__(session, *locate(session.store, model_id))

    @classmethod
    def query_models(
        cls,
        project_name: str | None = None,
        model_name: str | None = None,
        tags: Sequence[str] | None = None,
        only_published: bool = False,
        include_archived: bool = False,
        max_results: int | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> list[Model]:
        """Models with weights, newest first: of tasks in ``project_name`` (exactly), named
        ``model_name`` (exactly), with all ``tags`` (``-tag`` excludes), published ones only, and
        with the given metadata values (compared as strings); archived ones with ``include_archived``."""
        session = PROCESS.session()
        found = [
            (record.timestamp, Model._at(session, task.id, record.id))
            for task, record in _output_models(session.store, project_name)
            if _matches(
                record,
                meta_of(task, record.id),
                name=model_name,
                tags=tags or (),
                only_published=only_published,
                metadata=metadata or {},
                include_archived=include_archived,
            )
        ]
        found.sort(key=lambda hit: hit[0], reverse=True)
        return [model for _, model in found[:max_results]]

    @staticmethod
    def _at(session: Session, task_id: str, model_id: str) -> Model:
        model = Model.__new__(Model)
        StoredModel.__init__(model, session, task_id, model_id)
        return model


class InputModel(Model):
    """A stored model to start from (ClearML's ``InputModel``), by id or by name/project/tags."""

    def __init__(
        self,
        model_id: str | None = None,
        name: str | None = None,
        project: str | None = None,
        tags: Sequence[str] | None = None,
        only_published: bool = False,
    ) -> None:
        """Find the model ``model_id``, else the newest model with weights matching ``name``,
        ``project`` (of the task that produced it) and ``tags``.

        Raises ModelNotFoundError (also a ValueError) naming what was looked for.
        """
        if model_id:
            super().__init__(model_id)
            return
        found = Model.query_models(project, name, tags, only_published, max_results=1)
        if not found:
            what = " ".join(
                part
                for part in (
                    f"named '{name}'" if name is not None else "",
                    f"in project '{project}'" if project else "",
                    f"with tags {list(tags)}" if tags else "",
                    "(published)" if only_published else "",
                )
                if part
            )
            raise ModelNotFoundError(
                f"no model {what or 'at all'} with weights in the store; check the name, project and "
                "tags, or list models with Model.query_models()"
            )
        StoredModel.__init__(self, found[0]._session, found[0]._task_id, found[0]._id)

    @classmethod
    def import_model(
        cls,
        weights_url: str,
        config_text: str | None = None,
        config_dict: Mapping[str, Any] | None = None,
        label_enumeration: Mapping[str, int] | None = None,
        name: str | None = None,
        project: str | None = None,
        tags: Sequence[str] | None = None,
        comment: str | None = None,
        is_package: bool = False,
        create_as_published: bool = False,
        framework: str | None = None,
    ) -> InputModel:
        """Register weights that already exist at ``weights_url`` as a model; the existing model
        with that URL when there is one. Models live on tasks in taskmill: the model belongs to a
        completed task ``import <name>`` of type ``custom`` in ``project`` (default ``models``).
        Nothing is copied; the URL is read when the weights are. Blocking (one store batch)."""
        existing = cls.load_model(weights_url, load_archived=True)
        if existing is not None:
            return existing
        label = name or weights_url.rstrip("/").rsplit("/", 1)[-1]
        meta: dict[str, Any] = {
            "name": label,
            "framework": framework or "",
            "tags": list(tags or ()),
            "comment": comment or "",
            "labels": {str(k): int(v) for k, v in (label_enumeration or {}).items()},
            "config_text": json.dumps(dict(config_dict), indent=2)
            if config_dict is not None
            else config_text or "",
            "package": bool(is_package),
            "published": bool(create_as_published),
        }
        return cls._registered(label, project, meta, weights_url)

    @classmethod
    def load_model(cls, weights_url: str, load_archived: bool = False) -> InputModel | None:
        """The model whose weights are at ``weights_url`` (the newest when several), or None;
        archived models only with ``load_archived``."""
        session = PROCESS.session()
        hits = [
            (record.timestamp, task.id, record.id)
            for task, record in _output_models(session.store, None)
            if record.uri == weights_url
            and (load_archived or ARCHIVED not in (meta_of(task, record.id).get("system_tags") or ()))
        ]
        if not hits:
            return None
        _, task_id, model_id = max(hits)
        model = cls.__new__(cls)
        StoredModel.__init__(model, session, task_id, model_id)
        return model

    @classmethod
    def empty(
        cls,
        config_text: str | None = None,
        config_dict: Mapping[str, Any] | None = None,
        label_enumeration: Mapping[str, int] | None = None,
    ) -> InputModel:
        """A model without weights (design and labels only), stored like ``import_model``'s; its
        ``url`` is "" and connecting it to a task raises ValueError until it has weights."""
        meta: dict[str, Any] = {
            "name": "empty model",
            "labels": {str(k): int(v) for k, v in (label_enumeration or {}).items()},
            "config_text": json.dumps(dict(config_dict), indent=2)
            if config_dict is not None
            else config_text or "",
        }
        return cls._registered("empty model", None, meta, None)

    @classmethod
    def _registered(
        cls, label: str, project: str | None, meta: dict[str, Any], url: str | None
    ) -> InputModel:
        """A new completed task holding one model (``meta``; a ModelRecord at ``url`` when given)."""
        session = PROCESS.session()
        store = session.store
        now = time.time()
        task = TaskRecord(
            id=new_id(),
            name=f"import {label}",
            project=project or "models",
            task_type=TaskTypes.custom,
            status=TaskStatus.completed,
            status_message="model import",
            created=now,
            started=now,
            completed=now,
        )
        model_id = new_id()
        with store.batch():
            store.create_task(task)
            if url:
                store.add_model(
                    ModelRecord(
                        task.id, model_id, label, url, "output", str(meta.get("framework") or ""), now
                    )
                )
            store.update_task(task.id, runtime={META_KEY + model_id: meta})
        model = cls.__new__(cls)
        StoredModel.__init__(model, session, task.id, model_id)
        return model

    def connect(self, task: TaskLike, name: str | None = None, ignore_remote_overrides: bool = False) -> None:
        """Record this model as an input model of ``task``: a ModelRecord with mode ``input``
        named ``name`` (default: the model's name) at the same URL. Connecting it again is a no-op.
        ``ignore_remote_overrides`` is accepted and ignored (the model given here is always the one
        connected)."""
        url = self.url
        if not url:
            raise ValueError(f"{self._what()} has no weights yet; only a model with weights can be an input")
        label = name or self.name
        store = task._store()
        if any(m.mode == "input" and m.uri == url and m.name == label for m in store.get_models(task.id)):
            return
        record = ModelRecord(task.id, new_id(), label, url, "input", self.framework, time.time())
        with store.batch():
            store.add_model(record)
            store.update_task(task.id, runtime={META_KEY + record.id: {"source": self._id}})
