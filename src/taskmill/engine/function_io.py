"""Inputs and outputs of function steps: ClearML's ``kwargs/``, ``kwargs_artifacts/``, ``return/``.

* ``kwargs/<arg>``: a literal argument (JSON types kept).
* ``kwargs_artifacts/<arg>``: ``"<task_id>.<name>"``: read output ``name`` of that task: from this
  process's memory when it ran here (no copy), else its artifact (numpy memory-mapped), else its
  ``return/<name>`` parameter.
* ``return/<name>``: a basic-typed return value (int, float, bool, str, None); any other value is
  stored as artifact ``<name>``.

Positional arguments beyond the signature are stored as ``"0"``, ``"1"`` ... (ClearML's form).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from taskmill.core.model import Param
from taskmill.core.states import TaskStatus
from taskmill.engine.backend import Backend
from taskmill.engine.resolve import ArtifactInput
from taskmill.errors import ConflictError, ExecutionError

#: How an input read from another task is written inside a container argument
#: (``{"__taskmill_input__": "<task_id>.<name>"}``); tuples are kept as tuples the same way.
INPUT_MARKER = "__taskmill_input__"
TUPLE_MARKER = "__taskmill_tuple__"

KWARGS = "kwargs"
KWARGS_ARTIFACTS = "kwargs_artifacts"
RETURN = "return"
BASIC_TYPES = (int, float, bool, str, type(None))


def load_input(
    backend: Backend, ref: ArtifactInput, deserialize: Callable[[bytes], Any] | None = None
) -> Any:
    """The object output ``ref.name`` of task ``ref.task_id`` (see the module docstring for where from)."""
    found, value = backend.memo.get(ref.task_id, ref.name)
    if found:
        return value
    for rec in backend.store.get_artifacts(ref.task_id):
        if rec.name == ref.name:
            return backend.artifacts.load(rec, deserialization_function=deserialize)
    params = backend.store.get_param_dict(ref.task_id)
    key = f"{RETURN}/{ref.name}"
    if key in params:
        return params[key]
    raise ExecutionError(
        f"task {ref.task_id} has no output '{ref.name}' (no artifact, no '{key}' parameter); "
        "did the producing step declare it in function_return / return_values?"
    )


def map_inputs(value: Any, fn: Callable[[ArtifactInput], Any]) -> Any:
    """``value`` with every input marker (or ArtifactInput) inside replaced by ``fn(input)``."""
    if isinstance(value, ArtifactInput):
        return fn(value)
    if isinstance(value, dict):
        if set(value) == {INPUT_MARKER}:
            return fn(ArtifactInput.decode(str(value[INPUT_MARKER])))
        if set(value) == {TUPLE_MARKER}:
            return {TUPLE_MARKER: [map_inputs(v, fn) for v in value[TUPLE_MARKER]]}
        return {k: map_inputs(v, fn) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(map_inputs(v, fn) for v in value)
    return value


def encode_inputs(value: Any) -> Any:
    """Make a container argument JSON-able: inputs become markers, tuples tagged as tuples."""
    if isinstance(value, ArtifactInput):
        return {INPUT_MARKER: value.encode()}
    if isinstance(value, tuple):
        return {TUPLE_MARKER: [encode_inputs(v) for v in value]}
    if isinstance(value, list):
        return [encode_inputs(v) for v in value]
    if isinstance(value, dict):
        return {k: encode_inputs(v) for k, v in value.items()}
    return value


def decode_markers(value: Any) -> Any:
    """Inverse of the input marker: ``{"__taskmill_input__": ...}`` -> ArtifactInput (recursively)."""
    if isinstance(value, dict):
        if set(value) == {INPUT_MARKER}:
            return ArtifactInput.decode(str(value[INPUT_MARKER]))
        return {k: decode_markers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode_markers(v) for v in value]
    if isinstance(value, tuple):
        return tuple(decode_markers(v) for v in value)
    return value


def _materialise(backend: Backend, value: Any, deserialize: Callable[[bytes], Any] | None) -> Any:
    if isinstance(value, dict):
        if set(value) == {INPUT_MARKER}:
            return load_input(backend, ArtifactInput.decode(str(value[INPUT_MARKER])), deserialize)
        if set(value) == {TUPLE_MARKER}:
            return tuple(_materialise(backend, v, deserialize) for v in value[TUPLE_MARKER])
        return {k: _materialise(backend, v, deserialize) for k, v in value.items()}
    if isinstance(value, list):
        return [_materialise(backend, v, deserialize) for v in value]
    return value


def read_arguments(
    backend: Backend, task_id: str, deserialize: Callable[[bytes], Any] | None = None
) -> tuple[list[Any], dict[str, Any]]:
    """Positional and keyword arguments recorded on a function step's task."""
    kwargs: dict[str, Any] = {}
    for p in backend.store.get_params(task_id):
        if p.section == KWARGS:
            kwargs[p.name] = (
                _materialise(backend, p.value, deserialize) if isinstance(p.value, (dict, list)) else p.value
            )
        elif p.section == KWARGS_ARTIFACTS and p.value:
            kwargs[p.name] = load_input(backend, ArtifactInput.decode(str(p.value)), deserialize)
    positional = sorted((int(k), k) for k in kwargs if k.isdigit())
    args = [kwargs.pop(k) for _, k in positional]
    return args, kwargs


def split_returns(result: Any, names: Sequence[str], step: str) -> dict[str, Any]:
    """Map a function's return value to its declared names (one name: the whole value)."""
    if not names:
        return {}
    if len(names) == 1:
        return {names[0]: result}
    if not isinstance(result, (tuple, list)) or len(result) != len(names):
        got = (
            f"{type(result).__name__} of length {len(result)}"
            if isinstance(result, (tuple, list))
            else (type(result).__name__)
        )
        raise ExecutionError(
            f"step '{step}' declares {len(names)} return values {list(names)} but returned {got}; "
            "return a tuple of that length"
        )
    return dict(zip(names, result, strict=True))


def store_outputs(
    backend: Backend,
    task_id: str,
    outputs: dict[str, Any],
    *,
    serialize: Callable[[Any], bytes] | None = None,
    output_uri: str | None = None,
    keep_in_memory: bool = False,
    complete: bool = False,
) -> None:
    """Record outputs: basic values as ``return/`` parameters, others as artifacts (blocking).

    Artifact bytes are written first, outside any transaction; then the parameters, artifact
    records and (with ``complete``) the task's completion are committed together.
    """
    records = []
    for name, value in outputs.items():
        if keep_in_memory:
            backend.memo.put(task_id, name, value)
        if not isinstance(value, BASIC_TYPES):
            records.append(
                backend.artifacts.upload(
                    task_id, name, value, output_uri=output_uri, serialization_function=serialize
                )
            )
    basic = [Param(RETURN, n, v, type(v).__name__) for n, v in outputs.items() if isinstance(v, BASIC_TYPES)]
    store = backend.store
    with store.batch():
        if basic:
            store.set_params(task_id, basic)
        for record in records:
            store.put_artifact(record)
        if complete:
            try:  # compare-and-set: an abort may have ended the task meanwhile, and then it stays so
                store.set_status(
                    task_id, TaskStatus.completed, message="completed", expected=(TaskStatus.in_progress,)
                )
            except ConflictError:
                pass
