"""What a training script asks its task: iterations, the random seed, labels, models, reported values.

State ClearML keeps on the task (label enumeration, initial iteration, model design) is stored in
the task's runtime properties under ``_``-prefixed keys, so it survives the process and a clone of
the task carries it. Every setter is one store write; every getter reads the store.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from taskmill.api.model.lookup import InputModel, Model
from taskmill.api.model.stored import task_models
from taskmill.api.session import PROCESS
from taskmill.api.task.handle import TaskHandle
from taskmill.types import JSONValue

LABELS_KEY = "_labels"  #: runtime property: the task's label enumeration ``{label: int}``
INITIAL_ITERATION_KEY = "_initial_iteration"  #: runtime property: ``set_initial_iteration`` offset
DESIGN_KEY = "_model_design"  #: runtime property: ``set_model_config`` text


class TaskTraining(TaskHandle):
    """Iterations, random seed, label enumeration, models and reported values (a part of ``Task``)."""

    # == iterations and seed =====================================================================

    def set_initial_iteration(self, offset: int = 0) -> int:
        """Record where iteration counting starts (a continued training run). Returns ``offset``.

        Stored on the task; reports keep the iteration numbers they are given (taskmill does not
        shift them), so pass ``iteration + get_initial_iteration()`` when continuing."""
        self._runtime_set(INITIAL_ITERATION_KEY, int(offset))
        return int(offset)

    def get_initial_iteration(self) -> int:
        """The offset set with ``set_initial_iteration`` (0 if none)."""
        value = self._fresh().runtime.get(INITIAL_ITERATION_KEY, 0)
        return int(value) if isinstance(value, (int, float)) else 0

    def get_last_iteration(self) -> int:
        """The highest iteration of any reported scalar (0 when none). Flushes pending reports."""
        self.flush()
        return max((p.iteration for p in self._store().get_scalars(self.id)), default=0)

    @classmethod
    def set_random_seed(cls, random_seed: int | None) -> None:
        """The seed ``Task.init`` gives Python's, NumPy's and PyTorch's generators (default 1337,
        as in ClearML); None leaves them unseeded. Process-wide; call it before ``Task.init``."""
        PROCESS.random_seed = None if random_seed is None else int(random_seed)

    @classmethod
    def get_random_seed(cls) -> int | None:
        """The seed ``Task.init`` uses (see ``set_random_seed``)."""
        return PROCESS.random_seed

    # == labels ==================================================================================

    def connect_label_enumeration(
        self, enumeration: Mapping[str, int], ignore_remote_overrides: bool = False
    ) -> dict[str, int]:
        """Store the label enumeration ``{label: value}`` and return the one in effect.

        When this process runs the task for an agent (remote), a stored enumeration wins over
        ``enumeration`` unless ``ignore_remote_overrides``, as ``connect`` does for parameters."""
        stored = self.get_labels_enumeration()
        if self._attached and stored and not ignore_remote_overrides:
            return stored
        labels = {str(k): int(v) for k, v in enumeration.items()}
        self._runtime_set(LABELS_KEY, dict(labels))
        return labels

    def set_model_label_enumeration(self, enumeration: Mapping[str, int] | None = None) -> None:
        """Replace the task's label enumeration (``{}`` when None)."""
        self._runtime_set(LABELS_KEY, {str(k): int(v) for k, v in (enumeration or {}).items()})

    def get_labels_enumeration(self) -> dict[str, int]:
        """The task's label enumeration ``{label: value}`` ({} when none)."""
        value = self._fresh().runtime.get(LABELS_KEY)
        return {str(k): int(v) for k, v in value.items()} if isinstance(value, dict) else {}  # type: ignore[arg-type]

    def get_num_of_classes(self) -> int:
        """Number of distinct label values."""
        return len(set(self.get_labels_enumeration().values()))

    def get_label_num_description(self) -> dict[int, str]:
        """``{value: label}`` (the last label wins when several share a value)."""
        return {v: k for k, v in self.get_labels_enumeration().items()}

    # == model design ============================================================================

    def set_model_config(
        self, config_text: str | None = None, config_dict: Mapping[str, Any] | None = None
    ) -> None:
        """Store the model design of the task (text, or a dict stored as JSON)."""
        text = json.dumps(dict(config_dict), sort_keys=True) if config_dict is not None else config_text or ""
        self._runtime_set(DESIGN_KEY, text)

    def get_model_config_text(self) -> str:
        """The model design as stored ("" when none)."""
        return str(self._fresh().runtime.get(DESIGN_KEY) or "")

    def get_model_design(self) -> str:
        """Alias of ``get_model_config_text``."""
        return self.get_model_config_text()

    def get_model_config_dict(self) -> dict[str, Any]:
        """The model design parsed as JSON ({} when none). ValueError when it is not a JSON object."""
        text = self.get_model_config_text()
        try:
            value = json.loads(text) if text.strip() else {}
        except json.JSONDecodeError:
            value = None
        if not isinstance(value, dict):
            raise ValueError(
                f"task {self.id}: its model design is not a JSON object; read get_model_config_text()"
            )
        return value

    def update_model_desc(self, new_model_desc_file: str | Path | None = None) -> None:
        """Store the text of ``new_model_desc_file`` as the model design (no file: nothing)."""
        if new_model_desc_file is not None:
            self.set_model_config(config_text=Path(new_model_desc_file).read_text())

    # == models ==================================================================================

    def get_models(self) -> dict[str, list[Model]]:
        """``{"input": [Model, ...], "output": [Model, ...]}`` in the order they were recorded.

        An input model is the stored model it points at (its id is the source model's id)."""
        out: dict[str, list[Model]] = {"input": [], "output": []}
        for record in self._store().get_models(self.id):
            out.setdefault(record.mode, []).append(Model(record.id))
        return out

    @property
    def input_models_id(self) -> dict[str, str]:
        """``{name: model id}`` of the input models."""
        return {m.name: m.id for m in self._store().get_models(self.id) if m.mode == "input"}

    @property
    def output_models_id(self) -> dict[str, str]:
        """``{name: model id}`` of the output models (the newest wins a shared name)."""
        return {m.name: m.id for m in task_models(self._store(), self.id) if m.mode == "output"}

    def set_input_model(
        self,
        model_id: str | None = None,
        model_name: str | None = None,
        update_task_design: bool = True,
        update_task_labels: bool = True,
        name: str | None = None,
    ) -> None:
        """Connect a stored model (by id, else the newest with weights named ``model_name``) as an
        input model of this task, named ``name``; copy its design and labels to the task when asked.

        Raises ModelNotFoundError (a ValueError) when no such model exists."""
        if not model_id and not model_name:
            raise ValueError("set_input_model needs model_id= or model_name=")
        model = InputModel(model_id=model_id) if model_id else InputModel(name=model_name)
        model.connect(self, name=name)
        if update_task_design and model.config_text:
            self.set_model_config(config_text=model.config_text)
        if update_task_labels and model.labels:
            self.set_model_label_enumeration(model.labels)

    # == reported values =========================================================================

    def get_reported_single_value(self, name: str) -> float | None:
        """The value reported with ``report_single_value(name, ...)``, or None."""
        self.flush()
        found = [
            p.value for p in self._store().get_scalars(self.id) if p.title == "Summary" and p.series == name
        ]
        return found[-1] if found else None

    def get_all_reported_scalars(self, x_axis: str = "iter") -> dict[str, dict[str, dict[str, list[float]]]]:
        """Every reported scalar, unsampled: ``{title: {series: {"x": [...], "y": [...]}}}``.

        ``x_axis`` ``iter`` gives iterations, anything else timestamps. Flushes pending reports."""
        self.flush()
        out: dict[str, dict[str, dict[str, list[float]]]] = {}
        for p in self._store().get_scalars(self.id):
            series = out.setdefault(p.title, {}).setdefault(p.series, {"x": [], "y": []})
            series["x"].append(p.iteration if x_axis == "iter" else p.timestamp)
            series["y"].append(p.value)
        return out

    def get_debug_samples(
        self, title: str, series: str, n_last_iterations: int | None = None
    ) -> list[dict[str, Any]]:
        """Images and media reported under ``title``/``series``, newest iteration first, each
        ``{"iteration", "url", ...}``; the last ``n_last_iterations`` iterations when given."""
        plots = [
            p
            for p in self._store().get_plots(self.id)
            if p.title == title and p.series == series and p.kind in ("image", "media")
        ]
        plots.sort(key=lambda p: -p.iteration)
        if n_last_iterations is not None:
            keep = sorted({p.iteration for p in plots}, reverse=True)[: max(0, n_last_iterations)]
            plots = [p for p in plots if p.iteration in keep]
        return [
            {"iteration": p.iteration, **(p.data if isinstance(p.data, dict) else {"data": p.data})}
            for p in plots
        ]

    # == internals ===============================================================================

    def _runtime_set(self, key: str, value: JSONValue) -> None:
        self._record = self._store().update_task(self.id, runtime={key: value})


def seed_everything(seed: int | None) -> None:
    """What ``Task.init`` does with the process's seed: seed the imported generators (none: no-op)."""
    if seed is None:
        return
    from taskmill.utilities.seed import make_deterministic

    make_deterministic(seed)
