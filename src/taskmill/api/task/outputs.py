"""A task's outputs: artifacts and models it stores, and what it reported, read back.

``upload_artifact`` always waits for the upload (ClearML's ``wait_on_upload`` is moot): the artifact
is stored, hashed and recorded when it returns. Reading reported scalars or console lines first
flushes what this process has buffered, so a task reads back everything it reported.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from taskmill.api import params as P
from taskmill.api.artifact import Artifacts
from taskmill.api.logger import Logger
from taskmill.api.task.handle import TaskHandle
from taskmill.core.model import ModelRecord


class TaskOutputs(TaskHandle):
    """Storing a task's artifacts and models, and reading its reports (a part of ``Task``)."""

    @property
    def artifacts(self) -> Artifacts:
        """``name -> Artifact`` (read from the store on every access)."""
        return Artifacts(self._store().get_artifacts(self.id), self._session, self.id)

    def upload_artifact(
        self,
        name: str,
        artifact_object: Any,
        metadata: Mapping[str, Any] | None = None,
        delete_after_upload: bool = False,
        auto_pickle: bool | None = None,
        preview: Any = None,
        wait_on_upload: bool = False,
        extension_name: str | None = None,
        serialization_function: Callable[[Any], bytes] | None = None,
        retries: int = 0,
        sort_keys: bool = True,
    ) -> bool:
        """Store ``artifact_object`` as artifact ``name`` (replacing one of the same name).

        Numpy arrays go to ``.npy``, DataFrames to Parquet, dicts/lists to JSON, file/folder
        paths as the file (folders zipped), anything else through cloudpickle. A DataFrame with
        ``extension_name=".csv.gz"`` (or every DataFrame under ``TASKMILL_DATAFRAME_FORMAT=csv.gz``)
        is stored as ClearML stores it: gzip CSV with the index as first column, read back with
        CSV-inferred dtypes. Blocking: the artifact is stored, hashed and recorded when this returns.
        """
        own_uri = self._fresh().output_uri
        record = self._session.artifacts.upload(
            self.id,
            name,
            artifact_object,
            output_uri=own_uri or None,
            metadata={k: P.to_json_value(v) for k, v in (metadata or {}).items()},
            preview=None if preview is None else str(preview),
            serialization_function=serialization_function,
            extension_name=extension_name,
        )
        self._store().put_artifact(record)
        if (
            delete_after_upload
            and isinstance(artifact_object, (str, Path))
            and Path(artifact_object).is_file()
        ):
            Path(artifact_object).unlink()
        return True

    def register_artifact(
        self,
        name: str,
        artifact: Any,
        metadata: Mapping[str, Any] | None = None,
        uniqueness_columns: bool | Sequence[str] = True,
    ) -> None:
        """Upload ``artifact`` (e.g. a DataFrame you keep changing) now and again, in its final
        state, when the task closes. Blocking for the first upload."""
        self._registered[name] = (artifact, metadata)
        self.upload_artifact(name, artifact, metadata=metadata)

    def unregister_artifact(self, name: str) -> None:
        """Stop re-uploading ``name`` at close (its last upload stays)."""
        self._registered.pop(name, None)

    def delete_artifacts(
        self,
        artifact_names: Sequence[str],
        raise_on_errors: bool = True,
        delete_from_storage: bool = True,
        silent_on_errors: bool = False,
    ) -> bool:
        """Remove artifacts (their records, and their bytes when ``delete_from_storage``);
        ``silent_on_errors`` is accepted and ignored (failures are raised per ``raise_on_errors``)."""
        current = {a.name: a for a in self._store().get_artifacts(self.id)}
        for n in artifact_names:
            rec = current.get(n)
            if rec is None:
                if raise_on_errors:
                    raise KeyError(f"task {self.id} has no artifact '{n}'")
                continue
            if delete_from_storage:
                self._session.artifacts.delete(rec)
            self._store().delete_artifact(self.id, n)
        return True

    @property
    def models(self) -> dict[str, list[ModelRecord]]:
        """``{"input": [...], "output": [...]}`` model records (an output model another task took
        over is still listed here, with its id, as in ClearML)."""
        from taskmill.api.model.stored import task_models  # loaded on first use, as in taskmill/__init__

        out: dict[str, list[ModelRecord]] = {"input": [], "output": []}
        for m in task_models(self._store(), self.id):
            out.setdefault(m.mode, []).append(m)
        return out

    def update_output_model(
        self,
        model_path: str | Path,
        name: str | None = None,
        comment: str | None = None,
        tags: Sequence[str] | None = None,
        model_name: str | None = None,
        iteration: int | None = None,
        auto_delete_file: bool = True,
        framework: str = "",
    ) -> ModelRecord:
        """Register a weights file (or folder, zipped) as an output model of this task.

        A new ``OutputModel`` of this task: the file is stored like an artifact (``model:<name>``)
        and the model record points at it, so ``${step.models.output.-1.url}`` references resolve
        to it. Blocking. The local file is kept (``auto_delete_file`` is ignored).
        """
        from taskmill.api.model import OutputModel  # loaded on first use, as in taskmill/__init__

        path = Path(model_path)
        if not path.exists():
            raise FileNotFoundError(f"model file {path} does not exist")
        label = name or model_name or path.stem
        model = OutputModel(task=self, name=label, comment=comment, tags=tags, framework=framework)
        model.update_weights(path, iteration=iteration)
        return next(m for m in self._store().get_models(self.id) if m.id == model.id)

    # == reports ================================================================================

    def get_logger(self) -> Logger:
        """The task's logger (scalars, text, tables)."""
        return Logger(self)

    def get_reported_scalars(
        self, max_samples: int = 0, x_axis: str = "iter"
    ) -> dict[str, dict[str, dict[str, list[float]]]]:
        """``{title: {series: {"x": [iterations], "y": [values]}}}``."""
        self.flush()
        out: dict[str, dict[str, dict[str, list[float]]]] = {}
        for p in self._store().get_scalars(self.id):
            s = out.setdefault(p.title, {}).setdefault(p.series, {"x": [], "y": []})
            s["x"].append(p.iteration if x_axis == "iter" else p.timestamp)
            s["y"].append(p.value)
        return out

    def get_reported_single_values(self) -> dict[str, float]:
        """Values reported with ``report_single_value``."""
        self.flush()
        return {p.series: p.value for p in self._store().get_scalars(self.id) if p.title == "Summary"}

    def get_last_scalar_metrics(self) -> dict[str, dict[str, dict[str, float]]]:
        """``{title: {series: {"last": v, "min": v, "max": v}}}`` over the reported scalars."""
        self.flush()
        out: dict[str, dict[str, dict[str, float]]] = {}
        for p in self._store().get_scalars(self.id):
            entry = out.setdefault(p.title, {}).setdefault(
                p.series, {"last": p.value, "min": p.value, "max": p.value}
            )
            entry["last"] = p.value
            entry["min"] = min(entry["min"], p.value)
            entry["max"] = max(entry["max"], p.value)
        return out

    def get_reported_plots(self, max_iterations: int | None = None) -> list[dict[str, Any]]:
        """Reported tables and charts; only those of the last ``max_iterations`` iterations when given."""
        plots = self._store().get_plots(self.id)
        if max_iterations is not None:
            keep = set(sorted({p.iteration for p in plots}, reverse=True)[: max(0, max_iterations)])
            plots = [p for p in plots if p.iteration in keep]
        return [
            {"title": p.title, "series": p.series, "iteration": p.iteration, "kind": p.kind, "data": p.data}
            for p in plots
        ]

    def get_reported_console_output(self, number_of_reports: int = 0) -> list[str]:
        """Console lines (the last ``number_of_reports`` lines when > 0)."""
        self.flush()
        tail = number_of_reports if number_of_reports > 0 else None
        return [ln.text for ln in self._store().get_log(self.id, tail=tail)]

    def set_progress(self, progress: int) -> None:
        """Set progress (0-100)."""
        self._record = self._store().update_task(self.id, progress=max(0, min(100, int(progress))))

    def get_progress(self) -> int:
        """Progress (0-100)."""
        return self._fresh().progress
