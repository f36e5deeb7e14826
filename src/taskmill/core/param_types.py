"""The type of a stored parameter value: the name recorded beside it, and text read as that type.

Parameters keep their JSON type in the store; people edit them as text (CLI arguments, web
forms). :func:`parse_like` turns such text back into a value of the stored value's type, so an
edited ``lr`` stays a float. Pure functions, no I/O.
"""

from __future__ import annotations

import json
from typing import Any

from taskmill.types import JSONValue

_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")


def type_name(value: Any) -> str:
    """The type recorded next to a parameter (``int``, ``float``, ``str`` ...); ``""`` for None."""
    return "" if value is None else type(value).__name__


def parse_like(name: str, text: str, like: JSONValue, type_hint: str, *, where: str = "here") -> JSONValue:
    """A value typed as text (CLI, forms), read as the type of the stored value ``like``.

    Raises ValueError naming the parameter and the type it takes. Text for a parameter with no
    typed value (None, list, dict) is read as JSON when it parses, else kept as a string.
    """
    kind = type(like).__name__ if like is not None else (type_hint or "NoneType")
    bad = ValueError(f"parameter '{name}' takes {kind} values {where}; '{text}' is not one")
    if kind == "bool":
        if text.strip().lower() not in _TRUE + _FALSE:
            raise bad
        return text.strip().lower() in _TRUE
    if kind in ("int", "float"):
        try:
            return int(text) if kind == "int" else float(text)
        except ValueError:
            raise bad from None
    if kind in ("list", "dict", "NoneType", ""):
        try:
            value: JSONValue = json.loads(text)
        except ValueError:
            if kind in ("list", "dict"):
                raise bad from None
            return text
        if kind in ("list", "dict") and type(value).__name__ != kind:
            raise bad
        return value
    return text
