"""``OutputModel``: a model a task produces: design, labels, metadata, then weights.

The model's JSON object is stored on its task when the ``OutputModel`` is created; the model record
(mode ``output``) when its weights are first set. Everything blocks: ``update_weights`` returns once
the weights are stored and recorded. A model's URL is fixed once its weights are set; later uploads
replace the bytes at that URL. Storage layout: see :mod:`taskmill.api.model`.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from taskmill.api.model.lookup import Model
from taskmill.api.model.reports import ModelReports
from taskmill.api.model.stored import META_KEY
from taskmill.api.params import to_json_value
from taskmill.api.session import PROCESS, TaskLike
from taskmill.core.model import ModelRecord, new_id


def _design(config_text: str | None, config_dict: Mapping[str, Any] | None) -> str | None:
    """The stored design text: ``config_text`` as given, ``config_dict`` as JSON."""
    if config_text is not None and config_dict is not None:
        raise ValueError("a model's design is config_text or config_dict, not both")
    if config_dict is not None:
        return json.dumps(to_json_value(config_dict), indent=2)
    return config_text


class OutputModel(ModelReports):
    """A model this task produces (ClearML's ``OutputModel``): design, labels, metadata, weights."""

    def __init__(
        self,
        task: TaskLike | None = None,
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

        ``base_model_id``: reuse that model, as ClearML does (same id; arguments given here replace
        its name, design, labels, tags, framework; ``comment`` is appended). A model of another
        task is taken over by this one (:meth:`_take_over`): it becomes this task's newest output
        model, and the other task keeps listing it. New weights replace the bytes at its URL.
        """
        owner = task if task is not None else PROCESS.current_task()
        if owner is None:
            raise ValueError(
                "OutputModel needs a task: pass task=..., or call Task.init(...) first "
                "(this process has no current task)"
            )
        super().__init__(owner._session, owner.id, new_id())
        self._upload_uri: str | None = None
        meta: dict[str, Any] = {"name": owner.name}
        given = {
            "name": name,
            "framework": framework,
            "tags": tags,
            "comment": comment,
            "labels": label_enumeration,
            "config_text": _design(config_text, config_dict),
        }
        with self._session.store.batch():  # a take-over and the model's new JSON object: all or nothing
            if base_model_id:
                base = Model(base_model_id)  # an input model's id leads to its source
                meta = {
                    "name": base.name,
                    "framework": base.framework,
                    "tags": base.tags,
                    "config_text": base.config_text,
                    "labels": base.labels,
                    **base._meta(),
                }
                self._id = base.id
                if base.task != owner.id:
                    meta.setdefault("artifact_task", base.task)
                    self._take_over(base)
                earlier = str(meta.get("comment") or "")  # read before the take-over moves it
                if comment and earlier and comment not in earlier:
                    given["comment"] = f"{earlier}\n{comment}"
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

    def connect(self, task: TaskLike, name: str | None = None) -> None:
        """An output model is connected to its task from the start; another task is a ValueError.

        ``name``: what the task calls the model (its model record's name, which
        ``monitor_models`` and ``Task.models`` show); the model's own name is unchanged."""
        if task.id != self._task_id:
            raise ValueError(
                f"{self._what()} belongs to task {self._task_id}; "
                f"create OutputModel(task=...) for task {task.id}"
            )
        record = self._record()
        if name and record is not None and record.name != name:
            self._session.store.move_model(self._id, self._task_id, name=name)

    # -- weights ------------------------------------------------------------------------------

    @classmethod
    def set_default_upload_uri(cls, output_uri: str | None) -> None:
        """Where every OutputModel of this process uploads weights unless it has its own
        destination (process-wide; None: back to each task's output_uri)."""
        PROCESS.model_upload_uri = output_uri or None

    @property
    def upload_storage_uri(self) -> str:
        """Where this model's next upload goes."""
        own = self._session.store.get_task(self._task_id).output_uri
        return str(self._meta().get("destination") or self._upload_uri or PROCESS.model_upload_uri or own)

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
        return self._upload(
            source,
            filename=Path(target_filename or source.name).name,
            upload_uri=upload_uri,
            package=False,
            iteration=iteration,
        )

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
            return self._upload(
                folder,
                filename=Path(stem or folder.name).name,
                upload_uri=upload_uri,
                package=True,
                iteration=iteration,
            )
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
            return self._upload(
                Path(tmp),
                filename=Path(stem or "model_package").name,
                upload_uri=upload_uri,
                package=True,
                iteration=iteration,
            )

    # -- internals ------------------------------------------------------------------------------

    def _take_over(self, base: Model) -> None:
        """Make ``base`` (a model of another task) a model of this one, in one store batch: its
        record moves here (same id); the other task keeps a record of its own at the same URL
        whose JSON object points back here (``{"source": id}``, as an input model's does), so
        ``Task.models`` there still lists this id; the JSON object is written here by the caller."""
        store = self._session.store
        record = base._record()
        left: dict[str, Any] = {META_KEY + base.id: None}
        if record is not None:
            store.move_model(base.id, self._task_id)
            stay = replace(record, id=new_id())
            store.add_model(stay)
            left[META_KEY + stay.id] = {"source": base.id}
        store.update_task(base.task, runtime=left)

    def _check_editable(self) -> None:
        if self.published:
            raise ValueError(f"{self._what()} is published and cannot be changed; create a new OutputModel")

    def _url_fixed(self, what: str) -> ValueError:
        return ValueError(
            f"{self._what()} already has its weights at {self.url}, and a model's URL is fixed once set: "
            f"{what} needs a new OutputModel (later uploads of the same kind replace the bytes at that URL)"
        )

    def _upload(
        self, source: Path, *, filename: str, upload_uri: str | None, package: bool, iteration: int | None
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
            # a taken-over model's artifact stays on the task that uploaded it
            holder = str(meta.get("artifact_task") or self._task_id)
        else:
            taken = {a.name for a in self._session.store.get_artifacts(self._task_id)}
            artifact = f"model:{meta.get('name')}"
            artifact = f"{artifact}:{self._id}" if artifact in taken else artifact
            own = self._session.store.get_task(self._task_id).output_uri
            destination = upload_uri or self._upload_uri or PROCESS.model_upload_uri or own
            holder = self._task_id
        with tempfile.TemporaryDirectory(prefix="taskmill-model-") as tmp:
            staged = Path(tmp, filename)  # the stored file is named after this link
            staged.symlink_to(source.resolve(), target_is_directory=package)
            record = self._session.artifacts.upload(
                holder,
                artifact,
                staged,
                output_uri=destination or None,
                metadata={"model_id": self._id},
            )
        self._session.store.put_artifact(record)
        changes = {"artifact": artifact, "filename": filename, "destination": destination}
        changes["artifact_task"] = holder
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
