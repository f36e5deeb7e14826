"""ClearML's ``OutputModel``, ``InputModel`` and ``Model``: trained weights with their design,
labels and metadata, kept with the task that produced them.

Where things are stored (no tables of their own, no schema change):

* **Weights** are an artifact ``model:<name>`` of the producing task (``model:<name>:<model id>``
  when that artifact name is taken), uploaded through the artifact layer to the task's
  ``output_uri`` (or ``upload_uri``); a folder or a list of files is stored zipped, as artifacts of
  folders are. With ``register_uri`` nothing is uploaded: the given URL is recorded as it is.
* **The model** is a :class:`~taskmill.core.model.ModelRecord` (mode ``output``) of that task,
  written when its weights are first set: its ``id`` is the model id, its ``uri`` the weights' URL.
  ``Task.models``, ``${step.models.output.-1.url}`` references and the web UI read these.
* **Everything else** (name, tags, comment, framework, design, labels, metadata, published, and
  how the weights were stored) is one JSON object in the producing task's runtime properties under
  the key ``_model/<model id>``, rewritten on every change, so other processes see it at once. It
  is written when the ``OutputModel`` is created, before any weights. Runtime keys starting with
  ``_`` are system properties: ``Task.clone`` does not copy them.
* ``InputModel.connect(task)`` adds a ModelRecord with mode ``input`` to ``task`` (the same URL, an
  id of its own) and ``_model/<that id>`` = ``{"source": <model id>}``, so that id leads back to
  the model.

Finding models (``Model(model_id)``, ``InputModel(name=...)``, ``Model.query_models``) scans the
tasks, most recently updated first, and their model records through the store API: linear in the
number of tasks. Properties read the store on every access (they are never stale).

Differences from ClearML, on purpose:

* Everything blocks: ``update_weights`` returns once the weights are stored and recorded
  (``async_enable`` is ignored; ``wait_for_uploads`` has nothing to wait for).
* Local weight files are never deleted (``auto_delete_file`` is ignored), and the comment is not
  rewritten with the file name (``update_comment`` is ignored).
* A model's URL is fixed once its weights are set (model records are never edited): later uploads
  replace the bytes at that URL (same artifact, file name and destination, whatever file they come
  from); switching between a file, a package and a registered URL needs a new ``OutputModel``.
* ``config_dict`` is stored as JSON text, and read back from JSON only (ClearML also reads HOCON).
* Models are never archived: ``include_archived`` is accepted and has no effect.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from taskmill.api.params import to_json_value
from taskmill.api.session import PROCESS, Session
from taskmill.core.model import ModelRecord, TaskRecord, new_id
from taskmill.errors import ArtifactError, NotFoundError
from taskmill.store.base import TaskFilter, TaskStore

if TYPE_CHECKING:
    from taskmill.api.task import Task

logger = logging.getLogger(__name__)

_KEY = "_model/"  #: runtime property of the owning task that holds a model's JSON object
_METADATA_TYPES = ("float", "int", "bool", "str", "basestring", "list", "tuple", "dict")


class ModelNotFoundError(NotFoundError, ValueError):
    """Raised when no stored model has the given id, or matches a name/project/tags lookup.

    Also a ``ValueError``, which is what ClearML raises for the same lookups.
    """


def _meta_of(task: TaskRecord, model_id: str) -> dict[str, Any]:
    value = task.runtime.get(_KEY + model_id)
    return dict(value) if isinstance(value, dict) else {}


def _locate(store: TaskStore, model_id: str) -> tuple[str, str]:
    """``(owning task id, model id)`` of ``model_id``; an input model record leads to its source."""
    for task in store.find_tasks():
        meta = _meta_of(task, model_id)
        if meta or any(m.id == model_id for m in store.get_models(task.id)):
            source = meta.get("source")
            return _locate(store, str(source)) if source else (task.id, model_id)
    raise ModelNotFoundError(
        f"no model with id '{model_id}' in the store; find models with Model.query_models(...), "
        "or a task's models with Task.get_task(task_id=...).models"
    )


def _output_models(store: TaskStore, project: str | None) -> Iterator[tuple[TaskRecord, ModelRecord]]:
    for task in store.find_tasks(TaskFilter(project=project) if project else None):
        for record in store.get_models(task.id):
            if record.mode == "output":
                yield task, record


def _matches(
    record: ModelRecord,
    meta: dict[str, Any],
    name: str | None,
    tags: Sequence[str],
    only_published: bool,
    metadata: Mapping[str, Any],
) -> bool:
    have = set(meta.get("tags") or ())
    values = {k: v.get("value") for k, v in (meta.get("metadata") or {}).items()}
    return (
        (name is None or record.name == name)
        and all(t[1:] not in have if t.startswith("-") else t in have for t in tags)
        and (not only_published or bool(meta.get("published")))
        and all(values.get(k) == str(v) for k, v in metadata.items())
    )


def _design(config_text: str | None, config_dict: Mapping[str, Any] | None) -> str | None:
    """The stored design text: ``config_text`` as given, ``config_dict`` as JSON."""
    if config_text is not None and config_dict is not None:
        raise ValueError("a model's design is config_text or config_dict, not both")
    if config_dict is not None:
        return json.dumps(to_json_value(config_dict), indent=2)
    return config_text


class _StoredModel:
    """What every model class shares: a model id, its owning task, and reading what is stored."""

    def __init__(self, session: Session, task_id: str, model_id: str) -> None:
        self._session = session
        self._task_id = task_id
        self._id = model_id

    def _meta(self) -> dict[str, Any]:
        return _meta_of(self._session.store.get_task(self._task_id), self._id)

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
            extract_archive is not False and self._is_package(), raise_on_error, force_download
        )

    def get_weights(self, raise_on_error: bool = False, force_download: bool = False) -> str | None:
        """A local path to the weights file (a package's zip file, not extracted); see get_local_copy."""
        return self._fetch(False, raise_on_error, force_download)

    def get_weights_package(
        self, return_path: bool = False, raise_on_error: bool = False, force_download: bool = False
    ) -> str | list[Path] | None:
        """A package's extracted folder (``return_path``) or the paths in it. ValueError if the
        model is not a package."""
        if not self._is_package():
            raise ValueError(f"{self._what()} is not a package; read it with get_weights()")
        folder = self._fetch(True, raise_on_error, force_download)
        if folder is None or return_path:
            return folder
        return sorted(Path(folder).iterdir())

    def _is_package(self) -> bool:
        return bool(self._meta().get("package"))

    def _fetch(self, extract: bool, raise_on_error: bool, force: bool) -> str | None:
        try:
            return self._local_path(extract, force)
        except (ArtifactError, ValueError) as exc:
            if raise_on_error:
                raise
            logger.warning("could not get the weights of %s: %s", self._what(), exc)
            return None

    def _local_path(self, extract: bool, force: bool) -> str:
        url = self.url
        if not url:
            raise ValueError(f"{self._what()} has no weights yet; set them with OutputModel.update_weights()")
        artifacts = self._session.artifacts
        # Uploaded weights are an artifact: its record carries the hash (verified, cache-safe).
        for artifact in self._session.store.get_artifacts(self._task_id):
            if artifact.uri == url:
                return artifacts.local_copy(artifact, extract_archive=extract, force_download=force)
        return artifacts.get_local_copy(url, extract_archive=extract, force_download=force)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(id={self._id!r}, task={self._task_id!r})"


class Model(_StoredModel):
    """A stored model, read-only (ClearML's ``Model``)."""

    def __init__(self, model_id: str) -> None:
        """Find model ``model_id``. Raises ModelNotFoundError naming the id."""
        session = PROCESS.session()
        super().__init__(session, *_locate(session.store, model_id))

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
        with the given metadata values (compared as strings)."""
        session = PROCESS.session()
        found = [
            (record.timestamp, Model._at(session, task.id, record.id))
            for task, record in _output_models(session.store, project_name)
            if _matches(
                record, _meta_of(task, record.id), model_name, tags or (), only_published, metadata or {}
            )
        ]
        found.sort(key=lambda hit: hit[0], reverse=True)
        return [model for _, model in found[:max_results]]

    @staticmethod
    def _at(session: Session, task_id: str, model_id: str) -> Model:
        model = Model.__new__(Model)
        _StoredModel.__init__(model, session, task_id, model_id)
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
        _StoredModel.__init__(self, found[0]._session, found[0]._task_id, found[0]._id)

    def connect(self, task: Task, name: str | None = None) -> None:
        """Record this model as an input model of ``task``: a ModelRecord with mode ``input``
        named ``name`` (default: the model's name) at the same URL. Connecting it again is a no-op."""
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
            store.update_task(task.id, runtime={_KEY + record.id: {"source": self._id}})


class OutputModel(_StoredModel):
    """A model this task produces (ClearML's ``OutputModel``): design, labels, metadata, weights."""

    def __init__(
        self,
        task: Task | None = None,
        config_text: str | None = None,
        config_dict: Mapping[str, Any] | None = None,
        label_enumeration: Mapping[str, int] | None = None,
        name: str | None = None,
        tags: Sequence[str] | None = None,
        comment: str | None = None,
        framework: str | None = None,
        base_model_id: str | None = None,
    ) -> None:
        """A new model of ``task`` (default: ``Task.current_task()``), stored at once (without
        weights). ``name`` defaults to the task's name.

        ``base_model_id``: start from that model's name, design, labels, tags and framework
        (arguments given here win); when it is a model of this same task, this object continues it
        (same id: new weights replace its weights).
        """
        from taskmill.api.task import Task

        owner = task if task is not None else Task.current_task()
        if owner is None:
            raise ValueError(
                "OutputModel needs a task: pass task=..., or call Task.init(...) first "
                "(this process has no current task)"
            )
        super().__init__(owner._session, owner.id, new_id())
        self._upload_uri: str | None = None
        meta: dict[str, Any] = {"name": owner.name}
        if base_model_id:
            base = Model(base_model_id)
            meta = {"name": base.name, "framework": base.framework, "tags": base.tags}
            meta.update(config_text=base.config_text, labels=base.labels)
            if base.task == owner.id:
                self._id = base.id
                meta.update(base._meta())
        given = {
            "name": name,
            "framework": framework,
            "tags": tags,
            "comment": comment,
            "labels": label_enumeration,
            "config_text": _design(config_text, config_dict),
        }
        meta.update({k: v for k, v in given.items() if v is not None})
        self._update(**meta)

    # -- design, labels, metadata -------------------------------------------------------------

    def update_design(
        self, config_text: str | None = None, config_dict: Mapping[str, Any] | None = None
    ) -> bool:
        """Replace the design (text, or a dict stored as JSON). Stored at once; returns True."""
        self._check_editable()
        self._update(config_text=_design(config_text, config_dict) or "")
        return True

    def update_labels(self, labels: Mapping[str, int]) -> None:
        """Replace the label enumeration ``{label: value}``."""
        self._check_editable()
        self._update(labels={str(k): int(v) for k, v in labels.items()})

    def set_metadata(self, key: str, value: Any, v_type: str | None = None) -> bool:
        """Set one metadata entry; the value is kept as a string with its type name (``v_type``,
        default the value's type: float, int, bool, str, list, tuple or dict, else ``None``)."""
        entries = dict(self._meta().get("metadata") or {})
        vtype = str(v_type or type(value).__name__)
        entry = {"key": str(key), "value": str(value), "type": vtype if vtype in _METADATA_TYPES else "None"}
        entries[str(key)] = entry
        self._update(metadata=entries)
        return True

    def publish(self) -> None:
        """Mark the model published: its weights, design and labels cannot change any more."""
        self._update(published=True)

    def connect(self, task: Task, name: str | None = None) -> None:
        """An output model is connected to its task from the start; another task is a ValueError."""
        if task.id != self._task_id:
            raise ValueError(
                f"{self._what()} belongs to task {self._task_id}; "
                f"create OutputModel(task=...) for task {task.id}"
            )

    # -- weights ------------------------------------------------------------------------------

    def set_upload_destination(self, uri: str) -> None:
        """Where the first upload goes (a folder or URL) instead of the task's output_uri."""
        self._upload_uri = uri

    def wait_for_uploads(self, timeout: float | None = None, max_num_uploads: int | None = None) -> None:
        """Nothing to wait for: uploads block until done."""

    def update_weights(
        self,
        weights_filename: str | os.PathLike[str] | None = None,
        upload_uri: str | None = None,
        target_filename: str | None = None,
        auto_delete_file: bool = True,
        register_uri: str | None = None,
        iteration: int | None = None,
        update_comment: bool = True,
        is_package: bool = False,
        async_enable: bool = True,
    ) -> str:
        """Upload ``weights_filename`` (a folder goes to ``update_weights_package``) or record
        ``register_uri`` without uploading; returns the weights' URL. Blocking: the bytes are
        stored, and the model recorded on its task, when this returns (``async_enable`` is ignored).

        ``target_filename`` names the stored file (default: the file's name). The first call fixes
        the URL; later uploads replace the bytes there (see the module docstring).
        """
        self._check_editable()
        if bool(weights_filename) == bool(register_uri):
            raise ValueError(
                "update_weights takes weights_filename (a file to upload) or register_uri "
                "(weights already stored), exactly one of them"
            )
        if register_uri:
            if self.url not in ("", register_uri):
                raise self._url_fixed(f"registering {register_uri}")
            return self._set_weights(register_uri, package=is_package, iteration=iteration)
        source = Path(weights_filename or "")
        if source.is_dir():
            return self.update_weights_package(
                weights_path=source,
                upload_uri=upload_uri,
                target_filename=target_filename,
                iteration=iteration,
            )
        if not source.is_file():
            raise FileNotFoundError(f"model weights file {source} does not exist")
        return self._upload(source, Path(target_filename or source.name).name, upload_uri, False, iteration)

    def update_weights_package(
        self,
        weights_filenames: Sequence[str | os.PathLike[str]] | None = None,
        weights_path: str | os.PathLike[str] | None = None,
        upload_uri: str | None = None,
        target_filename: str | None = None,
        auto_delete_file: bool = True,
        iteration: int | None = None,
        async_enable: bool = True,
    ) -> str:
        """Upload a folder (``weights_path``) or files (kept relative to their common folder) as
        one zipped package; returns its URL. Read it back with ``get_local_copy()`` (extracted).
        Blocking, like ``update_weights``."""
        import tempfile

        self._check_editable()
        if (weights_path is None) == (not weights_filenames):
            raise ValueError("update_weights_package takes weights_path (a folder) or weights_filenames")
        stem = (target_filename or "").removesuffix(".zip")
        if weights_path is not None:
            folder = Path(weights_path)
            if not folder.is_dir():
                raise FileNotFoundError(f"model weights folder {folder} does not exist")
            return self._upload(folder, Path(stem or folder.name).name, upload_uri, True, iteration)
        files = [Path(f).resolve() for f in weights_filenames or ()]
        missing = [str(f) for f in files if not f.is_file()]
        if missing:
            raise FileNotFoundError(f"model weights files do not exist: {', '.join(missing)}")
        common = Path(os.path.commonpath([f.parent for f in files]))
        with tempfile.TemporaryDirectory(prefix="taskmill-package-") as tmp:
            for f in files:
                link = Path(tmp, f.relative_to(common))
                link.parent.mkdir(parents=True, exist_ok=True)
                link.symlink_to(f)
            return self._upload(Path(tmp), Path(stem or "model_package").name, upload_uri, True, iteration)

    # -- internals ------------------------------------------------------------------------------

    def _update(self, **changes: Any) -> None:
        meta = {**self._meta(), **{k: to_json_value(v) for k, v in changes.items()}}
        self._session.store.update_task(self._task_id, runtime={_KEY + self._id: meta})

    def _check_editable(self) -> None:
        if self.published:
            raise ValueError(f"{self._what()} is published and cannot be changed; create a new OutputModel")

    def _url_fixed(self, what: str) -> ValueError:
        return ValueError(
            f"{self._what()} already has its weights at {self.url}, and a model's URL is fixed once set: "
            f"{what} needs a new OutputModel (later uploads of the same kind replace the bytes at that URL)"
        )

    def _upload(
        self, source: Path, filename: str, upload_uri: str | None, package: bool, iteration: int | None
    ) -> str:
        """Store ``source`` (a file, or a folder zipped) as the model's artifact, named ``filename``."""
        import tempfile

        meta = self._meta()
        if self.url:  # later weights: same artifact, file name and destination, hence the same URL
            if not meta.get("artifact") or bool(meta.get("package")) != package:
                raise self._url_fixed("uploading " + ("a package" if package else "a single file"))
            if upload_uri not in (None, meta.get("destination")):
                raise self._url_fixed(f"uploading to {upload_uri}")
            artifact, filename, destination = meta["artifact"], meta["filename"], meta["destination"]
        else:
            taken = {a.name for a in self._session.store.get_artifacts(self._task_id)}
            artifact = f"model:{meta.get('name')}"
            artifact = f"{artifact}:{self._id}" if artifact in taken else artifact
            own = self._session.store.get_task(self._task_id).output_uri
            destination = upload_uri or self._upload_uri or own
        with tempfile.TemporaryDirectory(prefix="taskmill-model-") as tmp:
            staged = Path(tmp, filename)  # the stored file is named after this link
            staged.symlink_to(source.resolve(), target_is_directory=package)
            record = self._session.artifacts.upload(
                self._task_id,
                artifact,
                staged,
                output_uri=destination or None,
                metadata={"model_id": self._id},
            )
        self._session.store.put_artifact(record)
        changes = {"artifact": artifact, "filename": filename, "destination": destination}
        return self._set_weights(record.uri, package=package, iteration=iteration, **changes)

    def _set_weights(self, uri: str, **changes: Any) -> str:
        """Record the model on its task at the first weights, and store ``changes``."""
        store = self._session.store
        with store.batch():
            if self._record() is None:
                meta = self._meta()
                name, framework = str(meta.get("name") or ""), str(meta.get("framework") or "")
                store.add_model(
                    ModelRecord(self._task_id, self._id, name, uri, "output", framework, time.time())
                )
            self._update(**changes)
        return uri
