"""Turning user objects into parameters and back (``task.connect`` and friends).

:func:`type_name` and :func:`parse_like` live in :mod:`taskmill.core.param_types` (the runs layer
reads edited values too) and are re-exported here.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from typing import Any

from taskmill.core.model import Param, split_key
from taskmill.core.param_types import parse_like, type_name
from taskmill.types import JSONValue

__all__ = [
    "cast_like",
    "namespace_items",
    "object_items",
    "params_from_flat",
    "params_from_mapping",
    "parse_like",
    "to_json_value",
    "type_name",
]


def to_json_value(value: Any) -> JSONValue:
    """A JSON-able form of ``value`` that keeps ints, floats, bools, None, lists and dicts."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_json_value(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): to_json_value(v) for k, v in value.items()}
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        try:
            return to_json_value(item())
        except (TypeError, ValueError):
            pass
    return str(value)


def cast_like(value: JSONValue, like: Any) -> Any:
    """Cast a stored value back to the type of the code's default ``like``.

    Stored values keep their JSON type, so this mostly matters for values edited as text
    (``"0.1"`` for a float default). A value that cannot be cast is returned unchanged.
    """
    if like is None or value is None:
        return value
    target = type(like)
    if isinstance(value, target) and not (target is int and isinstance(value, bool)):
        return value
    try:
        if target is bool:
            if isinstance(value, str):
                return value.strip().lower() in ("1", "true", "yes", "on")
            return bool(value)
        if target in (int, float) and isinstance(value, (int, float, str)):
            return target(value)
        if target is str:
            return value if isinstance(value, str) else json.dumps(value)
        if target in (list, tuple, dict) and isinstance(value, str):
            return target(json.loads(value))
        if target in (list, tuple) and isinstance(value, list):
            return target(value)
    except (TypeError, ValueError):
        return value
    return value


def params_from_mapping(
    section: str, data: Mapping[str, Any], descriptions: Mapping[str, str] | None = None
) -> list[Param]:
    """``{"lr": 0.1}`` in section ``General`` -> ``[Param("General", "lr", 0.1, "float")]``."""
    descriptions = descriptions or {}
    return [
        Param(section, str(k), to_json_value(v), type_name(v), descriptions.get(str(k), ""))
        for k, v in data.items()
    ]


def params_from_flat(flat: Mapping[str, Any]) -> list[Param]:
    """``{"Args/lr": 0.1, "epochs": 3}`` -> params; keys without a section go to ``General``."""
    out = []
    for key, value in flat.items():
        section, name = split_key(str(key))
        out.append(Param(section, name, to_json_value(value), type_name(value)))
    return out


def namespace_items(ns: argparse.Namespace) -> dict[str, Any]:
    """Public attributes of an argparse namespace."""
    return {k: v for k, v in vars(ns).items() if not k.startswith("_")}


def object_items(obj: Any) -> dict[str, Any]:
    """Public, non-callable attributes of an object (its own and its class's defaults)."""
    names = [n for n in dir(obj) if not n.startswith("_")]
    out: dict[str, Any] = {}
    for name in names:
        try:
            value = getattr(obj, name)
        except AttributeError:
            continue
        if not callable(value):
            out[name] = value
    return out
