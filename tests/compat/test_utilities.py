"""``taskmill.utilities``: the helpers ClearML pipeline code imports from ``clearml.utilities``."""

from __future__ import annotations

import random

import numpy as np

from taskmill.utilities import make_deterministic
from taskmill.utilities.proxy_object import (
    cast_basic_type,
    flatten_dictionary,
    get_basic_type,
    get_type_from_basic_type_str,
    naive_nested_from_flat_dictionary,
    nested_from_flat_dictionary,
    verify_basic_type,
)


def test_type_names_as_clearml_records_them() -> None:
    assert [get_basic_type(v) for v in (1, 1.5, "a", True, None)] == [
        "int",
        "float",
        "str",
        "bool",
        "NoneType",
    ]
    assert get_basic_type([1, 2]) == "list/int" and get_basic_type((1, "a")) == "tuple"
    assert get_basic_type({"a": 1.0}) == "dict/float" and get_basic_type([]) == "list"
    assert get_type_from_basic_type_str("list/int") is list and get_type_from_basic_type_str("bool") is bool
    assert get_type_from_basic_type_str("") is str


def test_casting_text_back_to_its_type() -> None:
    assert cast_basic_type("3", "int") == 3 and cast_basic_type("0.5", "float") == 0.5
    assert cast_basic_type("false", "bool") is False and cast_basic_type("[1, 2]", "list/int") == [1, 2]
    assert cast_basic_type("x", "int") == "x"  # cannot be cast: unchanged
    assert cast_basic_type("", "") is None and cast_basic_type("a", "") == "a"


def test_verify_basic_type() -> None:
    assert verify_basic_type({"a": [1, 2.0, "x"], "b": {"c": True}})
    assert not verify_basic_type({"a": object()})
    assert not verify_basic_type([1.0], basic_types=(int,))


def test_flat_and_nested_dictionaries() -> None:
    nested = {"model": {"layers": [64, 32], "opt": {"lr": 0.1}}, "epochs": 3, "empty": {}}
    flat = flatten_dictionary(nested)
    assert flat == {"model/layers": [64, 32], "model/opt/lr": 0.1, "epochs": 3, "empty": {}}
    updated = nested_from_flat_dictionary(
        {"model": {"layers": [1], "opt": {"lr": 0.0}}, "epochs": 1}, {"model/opt/lr": 0.5, "epochs": 9}
    )
    assert updated == {"model": {"layers": [1], "opt": {"lr": 0.5}}, "epochs": 9}
    assert naive_nested_from_flat_dictionary({"a/b": 1, "a/c": 2, "d": 3}) == {"a": {"b": 1, "c": 2}, "d": 3}


def test_make_deterministic_seeds_python_and_numpy() -> None:
    make_deterministic(42)
    first = (random.random(), np.random.rand())
    make_deterministic(42)
    assert (random.random(), np.random.rand()) == first
