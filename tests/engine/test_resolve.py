"""``Resolver``: ``${...}`` references of one consuming step, resolved against the store."""

from __future__ import annotations

import pytest

from taskmill.core.model import ArtifactRecord, Param
from taskmill.core.refs import parse_ref
from taskmill.engine.backend import Backend
from taskmill.engine.function_io import store_outputs
from taskmill.engine.inputs import ArtifactInput
from taskmill.engine.resolve import Resolver
from taskmill.errors import ReferenceError_

from .conftest import new_task


def test_references_resolve_to_values_inputs_and_hashes(backend: Backend) -> None:
    store = backend.store
    producer = new_task(store, "producer")
    store.set_params(producer, [Param("General", "lr", 0.1)])
    store.put_artifact(ArtifactRecord(producer, "data", "file:///tmp/d.npy", hash="sha256:ab"))
    store_outputs(backend, producer, {"n": 4})
    executed = {"make": producer, "broken": None}
    res = Resolver(backend, "consumer", params={"epochs": 3}, executed=executed)
    assert res(parse_ref("${pipeline.epochs}")) == 3
    assert res(parse_ref("${make.id}")) == producer
    assert res(parse_ref("${make.parameters.General/lr}")) == 0.1
    assert res(parse_ref("${make.artifacts.data.url}")) == "file:///tmp/d.npy"
    assert res.input_hashes == {"${make.artifacts.data.url}": "sha256:ab"}  # part of the cache key
    assert res(parse_ref("${make.n}")) == 4  # a return value, loaded
    as_inputs = Resolver(backend, "consumer", params={}, executed=executed, returns_as_inputs=True)
    assert as_inputs(parse_ref("${make.n}")) == ArtifactInput(producer, "n")  # read by the step itself
    with pytest.raises(ReferenceError_, match="names pipeline parameter 'nope'"):
        res(parse_ref("${pipeline.nope}"))
    with pytest.raises(ReferenceError_, match="step 'broken' has not run"):
        res(parse_ref("${broken.id}"))
    with pytest.raises(ReferenceError_, match="names unknown step 'ghost'"):
        res(parse_ref("${ghost.id}"))
