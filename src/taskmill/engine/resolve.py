"""Resolving ``${...}`` references of a run against the store, at the moment a step launches."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from taskmill.core.refs import Ref, RefKind
from taskmill.engine.backend import Backend
from taskmill.engine.function_io import load_input
from taskmill.engine.inputs import ArtifactInput
from taskmill.errors import ReferenceError_


class Resolver:
    """Turns references into values for one consuming step.

    ``executed`` maps step names to the task id that ran them (or was reused from the cache).
    RETURN references resolve to :class:`ArtifactInput` markers when ``returns_as_inputs``
    (function kwargs), else to the loaded object.
    """

    def __init__(
        self,
        backend: Backend,
        consumer: str,
        *,
        params: Mapping[str, Any],
        executed: Mapping[str, str | None],
        returns_as_inputs: bool = False,
    ) -> None:
        self._backend = backend
        self._params = params
        self._executed = executed
        self._consumer = consumer
        self._returns_as_inputs = returns_as_inputs
        #: artifact content hashes read while resolving (they become part of the cache key)
        self.input_hashes: dict[str, str] = {}

    def __call__(self, ref: Ref) -> Any:
        if ref.kind is RefKind.PIPELINE:
            name = ref.path[0] if ref.path else ref.step
            if name not in self._params:
                raise ReferenceError_(
                    f"step '{self._consumer}': {ref.raw} names pipeline parameter '{name}', which does "
                    f"not exist; known: {sorted(self._params)}"
                )
            return self._params[name]
        task_id = self._task_of(ref)
        store = self._backend.store
        if ref.kind is RefKind.ID:
            return task_id
        if ref.kind is RefKind.PARAMETERS:
            key = ref.path[0]
            values = store.get_param_dict(task_id)
            if key not in values:
                raise ReferenceError_(
                    f"step '{self._consumer}': {ref.raw}: task {task_id} of step '{ref.step}' has no "
                    f"parameter '{key}'; it has: {sorted(values)}"
                )
            return values[key]
        if ref.kind is RefKind.ARTIFACTS:
            name, attr = ref.path[0], ref.path[1]
            records = {a.name: a for a in store.get_artifacts(task_id)}
            if name not in records:
                raise ReferenceError_(
                    f"step '{self._consumer}': {ref.raw}: step '{ref.step}' (task {task_id}) has no artifact "
                    f"'{name}'; it has: {sorted(records)}"
                )
            rec = records[name]
            if not rec.hash:  # its bytes are still being written in this process: wait for them
                self._backend.artifacts.flush()
                rec = next((a for a in store.get_artifacts(task_id) if a.name == name), rec)
            self.input_hashes[ref.raw] = rec.hash
            return {"url": rec.uri}.get(attr, getattr(rec, attr, None))
        if ref.kind is RefKind.MODELS:
            mode, attr = ref.path[0], ref.path[2]
            models = [m for m in store.get_models(task_id) if m.mode == mode]
            try:
                model = models[ref.model_index]
            except IndexError:
                raise ReferenceError_(
                    f"step '{self._consumer}': {ref.raw}: step '{ref.step}' has {len(models)} {mode} model(s)"
                ) from None
            return {"url": model.uri, "task": model.task_id}.get(attr, getattr(model, attr, None))
        if ref.kind is RefKind.FIELD:
            record = store.get_task(task_id).to_dict()
            value: Any = record
            for part in ref.path:
                value = value.get(part, "") if isinstance(value, dict) else ""
            return value
        if ref.kind is RefKind.RETURN:
            name = ref.path[0]
            marker = ArtifactInput(task_id, name)
            if self._returns_as_inputs:
                return marker
            return load_input(self._backend, marker)
        raise ReferenceError_(f"step '{self._consumer}': cannot resolve {ref.raw}")

    def _task_of(self, ref: Ref) -> str:
        if ref.step not in self._executed:
            raise ReferenceError_(f"step '{self._consumer}': {ref.raw} names unknown step '{ref.step}'")
        task_id = self._executed[ref.step]
        if not task_id:
            raise ReferenceError_(
                f"step '{self._consumer}': {ref.raw}: step '{ref.step}' has not run (or failed), so its "
                "outputs do not exist"
            )
        return task_id
