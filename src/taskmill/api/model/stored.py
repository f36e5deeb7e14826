"""Reading stored models: the record of a model, its JSON object on the owning task, its weights.

:class:`StoredModel` is the base of ``Model``, ``InputModel`` and ``OutputModel``: a model id and the
id of the task that owns it. Every property reads the store (never stale); ``get_local_copy`` and
the other weight readers block until the weights are local. Storage layout: see
:mod:`taskmill.api.model`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

from taskmill.api.session import Session
from taskmill.core.model import ModelRecord, TaskRecord
from taskmill.errors import ArtifactError, NotFoundError
from taskmill.store.base import TaskStore

logger = logging.getLogger(__name__)

META_KEY = "_model/"  #: runtime property of the owning task that holds a model's JSON object


class ModelNotFoundError(NotFoundError, ValueError):
    """Raised when no stored model has the given id, or matches a name/project/tags lookup.

    Also a ``ValueError``, which is what ClearML raises for the same lookups.
    """


def meta_of(task: TaskRecord, model_id: str) -> dict[str, Any]:
    """The JSON object of model ``model_id`` stored on ``task`` ({} when it has none)."""
    value = task.runtime.get(META_KEY + model_id)
    return dict(value) if isinstance(value, dict) else {}


def task_models(store: TaskStore, task_id: str) -> list[ModelRecord]:
    """The model records of ``task_id`` as ClearML lists a task's models: an output model another
    task took over (``OutputModel(base_model_id=...)``) is still listed, with that model's id."""
    records = store.get_models(task_id)
    if not any(m.mode == "output" for m in records):
        return records
    task = store.get_task(task_id)
    out = []
    for m in records:
        source = meta_of(task, m.id).get("source") if m.mode == "output" else None
        out.append(replace(m, id=str(source)) if source else m)
    return out


def locate(store: TaskStore, model_id: str) -> tuple[str, str]:
    """``(owning task id, model id)`` of ``model_id``; an input model record leads to its source."""
    for task in store.find_tasks():
        meta = meta_of(task, model_id)
        if meta or any(m.id == model_id for m in store.get_models(task.id)):
            source = meta.get("source")
            return locate(store, str(source)) if source else (task.id, model_id)
    raise ModelNotFoundError(
        f"no model with id '{model_id}' in the store; find models with Model.query_models(...), "
        "or a task's models with Task.get_task(task_id=...).models"
    )


class StoredModel:
    """What every model class shares: a model id, its owning task, and reading what is stored."""

    def __init__(self, session: Session, task_id: str, model_id: str) -> None:
        self._session = session
        self._task_id = task_id
        self._id = model_id

    def _meta(self) -> dict[str, Any]:
        return meta_of(self._session.store.get_task(self._task_id), self._id)

    def _record(self) -> ModelRecord | None:
        return next((m for m in self._session.store.get_models(self._task_id) if m.id == self._id), None)

    def _what(self) -> str:
        return f"model '{self.name}' ({self._id})"

    @property
    def id(self) -> str:
        """Model id (the id of its ModelRecord)."""
        return self._id

    @property
    def name(self) -> str:
        """Model name."""
        record = self._record()
        return str(self._meta().get("name") or (record.name if record else ""))

    @property
    def url(self) -> str:
        """Where the weights are ("" until they are set)."""
        record = self._record()
        return record.uri if record else ""

    @property
    def framework(self) -> str:
        """Framework name (free text, e.g. ``PyTorch``)."""
        record = self._record()
        return str(self._meta().get("framework") or (record.framework if record else ""))

    @property
    def tags(self) -> list[str]:
        """Model tags."""
        return [str(t) for t in self._meta().get("tags") or ()]

    @property
    def comment(self) -> str:
        """Free-text description."""
        return str(self._meta().get("comment") or "")

    @property
    def config_text(self) -> str:
        """The design as stored (``config_dict`` designs as JSON text)."""
        return str(self._meta().get("config_text") or "")

    @property
    def config_dict(self) -> dict[str, Any]:
        """The design parsed from JSON ({} when there is none). Raises ValueError for non-JSON text."""
        text = self.config_text
        try:
            value = json.loads(text) if text.strip() else {}
        except json.JSONDecodeError:
            value = None
        if not isinstance(value, dict):
            raise ValueError(f"{self._what()}: its design is not a JSON object; read it as config_text")
        return value

    @property
    def labels(self) -> dict[str, int]:
        """Label enumeration ``{label: value}``."""
        return {str(k): int(v) for k, v in (self._meta().get("labels") or {}).items()}

    @property
    def task(self) -> str:
        """Id of the task that produced the model."""
        return self._task_id

    @property
    def project(self) -> str:
        """Project name of the task that produced the model (ClearML returns a project id)."""
        return self._session.store.get_task(self._task_id).project

    @property
    def published(self) -> bool:
        """True once published (read-only from then on)."""
        return bool(self._meta().get("published"))

    def get_metadata(self, key: str) -> str | None:
        """The value of metadata entry ``key`` as a string (as ClearML), or None."""
        return self.get_all_metadata().get(str(key), {}).get("value")

    def get_all_metadata(self) -> dict[str, dict[str, str]]:
        """All metadata: ``{key: {"key": key, "value": str, "type": type name}}``."""
        return {str(k): dict(v) for k, v in (self._meta().get("metadata") or {}).items()}

    def get_local_copy(
        self, extract_archive: bool | None = None, raise_on_error: bool = False, force_download: bool = False
    ) -> str | None:
        """A local path to the weights: the stored file itself when local, else a cached download.

        A package (folder) comes back extracted unless ``extract_archive`` is False. Blocking.
        Returns None on error (no weights, bytes gone) unless ``raise_on_error``, as ClearML does.
        """
        return self._fetch(
            extract=extract_archive is not False and self._is_package(),
            raise_on_error=raise_on_error,
            force=force_download,
        )

    def get_weights_package(
        self,
        return_path: bool = False,
        raise_on_error: bool = False,
        force_download: bool = False,
        extract_archive: bool = True,
    ) -> str | list[Path] | None:
        """A package's extracted folder (``return_path``) or the paths in it; with
        ``extract_archive=False`` the package's zip file instead. ValueError if the model is not
        a package."""
        if not self._is_package():
            raise ValueError(f"{self._what()} is not a package; read it with get_weights()")
        if not extract_archive:
            return self._fetch(extract=False, raise_on_error=raise_on_error, force=force_download)
        folder = self._fetch(extract=True, raise_on_error=raise_on_error, force=force_download)
        if folder is None or return_path:
            return folder
        return sorted(Path(folder).iterdir())

    def _is_package(self) -> bool:
        return bool(self._meta().get("package"))

    def _fetch(self, *, extract: bool, raise_on_error: bool, force: bool) -> str | None:
        try:
            return self._local_path(extract=extract, force=force)
        except (ArtifactError, ValueError) as exc:
            if raise_on_error:
                raise
            logger.warning("could not get the weights of %s: %s", self._what(), exc)
            return None

    def _local_path(self, *, extract: bool, force: bool) -> str:
        url = self.url
        if not url:
            raise ValueError(f"{self._what()} has no weights yet; set them with OutputModel.update_weights()")
        artifacts = self._session.artifacts
        # Uploaded weights are an artifact: its record carries the hash (verified, cache-safe).
        holder = str(self._meta().get("artifact_task") or self._task_id)  # a taken-over model's
        for artifact in self._session.store.get_artifacts(holder):
            if artifact.uri == url:
                return artifacts.local_copy(artifact, extract_archive=extract, force_download=force)
        return artifacts.get_local_copy(url, extract_archive=extract, force_download=force)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(id={self._id!r}, task={self._task_id!r})"
