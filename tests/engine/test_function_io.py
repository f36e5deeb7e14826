"""Function-step I/O on a real store: arguments in (``kwargs/``, ``kwargs_artifacts/``), outputs
out (``return/`` parameters or artifacts), read back from memory, artifacts or parameters."""

from __future__ import annotations

import pytest

from taskmill.core.model import Param
from taskmill.core.states import TaskStatus
from taskmill.core.stored import KWARGS, KWARGS_ARTIFACTS, RETURN
from taskmill.engine.backend import Backend
from taskmill.engine.function_io import load_input, read_arguments, split_returns, store_outputs
from taskmill.engine.inputs import ArtifactInput, encode_inputs
from taskmill.errors import ExecutionError

from .conftest import new_task


def test_outputs_round_trip_as_parameters_and_artifacts(backend: Backend) -> None:
    store = backend.store
    producer = new_task(store, "producer")
    store.set_status(producer, TaskStatus.in_progress)
    store_outputs(backend, producer, {"n": 3, "rows": [[1, 2], [3, 4]]}, complete=True)
    assert store.get_task(producer).status == TaskStatus.completed
    assert store.get_param_dict(producer) == {f"{RETURN}/n": 3}  # basic values are parameters
    assert [a.name for a in store.get_artifacts(producer)] == ["rows"]  # the others are artifacts
    assert load_input(backend, ArtifactInput(producer, "n")) == 3
    assert load_input(backend, ArtifactInput(producer, "rows")) == [[1, 2], [3, 4]]
    with pytest.raises(ExecutionError, match="has no output 'missing'"):
        load_input(backend, ArtifactInput(producer, "missing"))


def test_outputs_kept_in_memory_are_handed_over_without_a_copy(backend: Backend) -> None:
    producer = new_task(backend.store)
    value = {"big": list(range(10))}
    store_outputs(backend, producer, {"v": value}, keep_in_memory=True)
    assert load_input(backend, ArtifactInput(producer, "v")) is value


def test_arguments_come_back_with_positionals_inputs_and_tuples(backend: Backend) -> None:
    store = backend.store
    producer = new_task(store, "producer")
    store_outputs(backend, producer, {"x": 10, "rows": [1, 2, 3]})
    consumer = new_task(store, "consumer")
    store.set_params(
        consumer,
        [
            Param(KWARGS, "0", "first"),
            Param(KWARGS, "scale", 2),
            Param(KWARGS, "pair", encode_inputs((ArtifactInput(producer, "x"), 1))),
            Param(KWARGS_ARTIFACTS, "rows", ArtifactInput(producer, "rows").encode()),
        ],
    )
    args, kwargs = read_arguments(backend, consumer)
    assert args == ["first"]
    assert kwargs == {"scale": 2, "pair": (10, 1), "rows": [1, 2, 3]}


def test_returns_map_to_their_declared_names() -> None:
    assert split_returns((1, 2), ("a", "b"), "s") == {"a": 1, "b": 2}
    assert split_returns((1, 2), ("whole",), "s") == {"whole": (1, 2)}
    assert split_returns(None, (), "s") == {}
    with pytest.raises(ExecutionError, match=r"declares 2 return values \['a', 'b'\] but returned int"):
        split_returns(5, ("a", "b"), "s")


def test_completing_does_not_revive_an_aborted_step(backend: Backend) -> None:
    store = backend.store
    task_id = new_task(store)
    store.set_status(task_id, TaskStatus.stopped, force=True)
    store_outputs(backend, task_id, {"n": 1}, complete=True)
    assert store.get_task(task_id).status == TaskStatus.stopped


def test_in_a_write_scope_an_array_is_handed_over_at_once_and_lands_on_disk_later(
    backend: Backend,
) -> None:
    import numpy as np

    from taskmill.artifacts import sha256_file
    from taskmill.engine.backend import WRITE_SCOPE, WriteScope

    store = backend.store
    producer = new_task(store, "producer")
    store.set_status(producer, TaskStatus.in_progress)
    array = np.arange(1 << 20, dtype=np.float64)
    scope = WriteScope()
    token = WRITE_SCOPE.set(scope)
    try:
        store_outputs(backend, producer, {"arr": array, "n": 1}, keep_in_memory=True, complete=True)
    finally:
        WRITE_SCOPE.reset(token)
    assert store.get_task(producer).status == TaskStatus.completed  # not waiting for the disk
    assert load_input(backend, ArtifactInput(producer, "arr")) is array  # the object itself
    scope.drain()
    (record,) = store.get_artifacts(producer)
    assert record.hash.startswith("sha256:") and (record.hash, record.size) == sha256_file(record.uri)
    assert np.array_equal(backend.artifacts.load(record), array)


def test_without_a_write_scope_outputs_are_on_disk_when_the_step_ends(backend: Backend) -> None:
    import numpy as np

    producer = new_task(backend.store, "producer")
    store_outputs(backend, producer, {"arr": np.ones(1 << 20)}, keep_in_memory=True)
    (record,) = backend.store.get_artifacts(producer)
    assert record.hash.startswith("sha256:") and record.size > 0
