"""``ArtifactInput`` and its two wire forms (``"<task>.<name>"`` and the container marker)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from taskmill.engine.inputs import (
    INPUT_MARKER,
    TUPLE_MARKER,
    ArtifactInput,
    as_input,
    decode_markers,
    encode_inputs,
    has_reserved_keys,
    map_inputs,
    materialise,
)


def test_the_clearml_form_round_trips_and_keeps_dots_in_the_name() -> None:
    ref = ArtifactInput("abc123", "model.weights")
    assert ref.encode() == "abc123.model.weights"
    assert ArtifactInput.decode(ref.encode()) == ref
    with pytest.raises(ValueError, match=r"expected '<task_id>\.<name>'"):
        ArtifactInput.decode("no-dot")


def test_a_container_argument_survives_json_with_its_inputs_and_tuples() -> None:
    a, b = ArtifactInput("t1", "x"), ArtifactInput("t2", "y")
    value = {"pair": (a, 3), "items": [b, {"k": "plain"}], "n": 1}
    wire = json.loads(json.dumps(encode_inputs(value)))
    assert wire["pair"] == {TUPLE_MARKER: [{INPUT_MARKER: "t1.x"}, 3]}
    assert as_input(wire["items"][0]) == b and as_input({"k": "plain"}) is None
    loaded = materialise(wire, lambda ref: f"<{ref.encode()}>")
    assert loaded == {"pair": ("<t1.x>", 3), "items": ["<t2.y>", {"k": "plain"}], "n": 1}


def test_decode_and_map_leave_tuple_markers_to_the_reader() -> None:
    wire: Any = {"pair": {TUPLE_MARKER: [{INPUT_MARKER: "t1.x"}]}, "one": {INPUT_MARKER: "t2.y"}}
    decoded = decode_markers(wire)
    assert decoded["one"] == ArtifactInput("t2", "y")
    hashed = map_inputs(wire, lambda ref: {"hash": ref.task_id})
    assert hashed == {"pair": {TUPLE_MARKER: [{"hash": "t1"}]}, "one": {"hash": "t2"}}


def test_plain_values_using_a_marker_key_are_flagged() -> None:
    assert has_reserved_keys([{"a": {INPUT_MARKER: 1}}])
    assert has_reserved_keys({TUPLE_MARKER: []})
    assert not has_reserved_keys({"a": [1, {"b": 2}]})
