"""Inputs and outputs of function steps: ClearML's ``kwargs/``, ``kwargs_artifacts/``, ``return/``.

* ``kwargs/<arg>``: a literal argument (JSON types kept).
* ``kwargs_artifacts/<arg>``: ``"<task_id>.<name>"``: read output ``name`` of that task: from this
  process's memory when it ran here (no copy), else its artifact (numpy memory-mapped), else its
  ``return/<name>`` parameter.
* ``return/<name>``: a basic-typed return value (int, float, bool, str, None); any other value is
  stored as artifact ``<name>``.

Positional arguments beyond the signature are stored as ``"0"``, ``"1"`` ... (ClearML's form).
Inputs inside container arguments use the markers of :mod:`taskmill.engine.inputs`. Reads and
writes block on the store and the artifact storage.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from typing import Any, Final

from taskmill.artifacts.storage import BackgroundUpload
from taskmill.core.model import ArtifactRecord, Param
from taskmill.core.states import TaskStatus
from taskmill.core.stored import KWARGS, KWARGS_ARTIFACTS, RETURN
from taskmill.engine.backend import WRITE_SCOPE, Backend
from taskmill.engine.inputs import ArtifactInput, materialise
from taskmill.errors import ConflictError, ExecutionError

_log = logging.getLogger(__name__)

#: Return values of these types are stored as ``return/`` parameters; any other as an artifact.
BASIC_TYPES: Final = (int, float, bool, str, type(None))


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


def read_arguments(
    backend: Backend, task_id: str, deserialize: Callable[[bytes], Any] | None = None
) -> tuple[list[Any], dict[str, Any]]:
    """Positional and keyword arguments recorded on a function step's task."""
    kwargs: dict[str, Any] = {}
    for p in backend.store.get_params(task_id):
        if p.section == KWARGS:
            kwargs[p.name] = (
                materialise(p.value, lambda ref: load_input(backend, ref, deserialize))
                if isinstance(p.value, (dict, list))
                else p.value
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

    With ``keep_in_memory`` inside a :data:`WRITE_SCOPE` (an in-process step), the bytes of
    artifacts that cannot fail to serialize (plain numpy arrays) are written after the commit on
    the artifact store's writer thread: consumers here take the object from memory at once, and
    readers of the file wait for it. The record then gets its size and hash once written; a
    failed write fails the task.
    """
    records = []
    later: list[BackgroundUpload] = []
    scope = WRITE_SCOPE.get() if keep_in_memory and serialize is None else None
    for name, value in outputs.items():
        if keep_in_memory:
            backend.memo.put(task_id, name, value)
        if isinstance(value, BASIC_TYPES):
            continue
        planned = (
            backend.artifacts.upload_later(task_id, name, value, output_uri=output_uri)
            if scope is not None
            else None
        )
        if planned is not None:
            later.append(planned)
            records.append(planned.record)
        else:
            records.append(
                backend.artifacts.upload(
                    task_id, name, value, output_uri=output_uri, serialization_function=serialize
                )
            )
    basic = [Param(RETURN, n, v, type(v).__name__) for n, v in outputs.items() if isinstance(v, BASIC_TYPES)]
    store = backend.store
    try:
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
    except BaseException:
        for planned in later:
            planned.cancel()
        raise
    if later and scope is not None:
        scope.adopt(backend.artifacts)
    for planned in later:
        planned.start(functools.partial(_written, backend, task_id, planned.record.name))


def _written(
    backend: Backend, task_id: str, name: str, record: ArtifactRecord | None, error: BaseException | None
) -> None:
    """A background artifact write ended (writer thread): record its size and hash, or fail the task."""
    try:
        if record is not None:
            backend.store.put_artifact(record)
            return
        message = f"writing artifact '{name}' failed: {type(error).__name__}: {error}"
        _log.error("task %s: %s", task_id, message)
        backend.store.set_status(task_id, TaskStatus.failed, message=message, reason=message, force=True)
    except Exception:  # the store itself failed: nothing else to tell from this thread
        _log.exception("task %s: recording the write of artifact '%s' failed", task_id, name)
