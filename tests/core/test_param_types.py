"""Parameter values typed as text are read as the type of the value they replace."""

from __future__ import annotations

import pytest

from taskmill.core.param_types import parse_like, type_name
from taskmill.types import JSONValue


def test_type_names_are_recorded_as_python_spells_them() -> None:
    assert [type_name(v) for v in (1, 0.5, True, "a", [1], {"a": 1}, None)] == [
        "int",
        "float",
        "bool",
        "str",
        "list",
        "dict",
        "",
    ]


@pytest.mark.parametrize(
    ("text", "like", "hint", "value"),
    [
        ("5", 1, "", 5),
        ("2.5", 1.0, "", 2.5),
        ("1e-3", 0.1, "", 0.001),
        (" Yes ", False, "", True),
        ("off", True, "", False),
        ("[1, 2]", [0], "", [1, 2]),
        ('{"a": 1}', {}, "", {"a": 1}),
        ("7", "a", "", "7"),  # a string stays a string, even when it looks like a number
        ("3", None, "int", 3),  # no stored value: the recorded type decides
        ("[3]", None, "", [3]),  # no type at all: JSON when it parses
        ("plain", None, "", "plain"),
    ],
)
def test_text_is_read_as_the_stored_type(text: str, like: JSONValue, hint: str, value: JSONValue) -> None:
    assert parse_like("p", text, like, hint) == value


@pytest.mark.parametrize(("text", "like"), [("x", 1), ("1.5", 1), ("maybe", True), ("{}", [1]), ("[", {})])
def test_text_not_of_the_type_names_the_parameter_and_type(text: str, like: JSONValue) -> None:
    kind = type(like).__name__
    with pytest.raises(ValueError, match=f"parameter 'lr' takes {kind} values on this run; '.*' is not one"):
        parse_like("lr", text, like, "", where="on this run")
