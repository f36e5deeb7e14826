"""Type names and nested/flat dictionaries, as ClearML's ``clearml.utilities.proxy_object``.

Pure functions, no I/O. Type names are those ClearML records next to parameters: ``int``,
``float``, ``str``, ``bool``, ``list``/``tuple``/``dict``, and for a non-empty container whose
items all have one type ``list/int``, ``tuple/str``, ``dict/float``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, MutableMapping
from typing import Any

logger = logging.getLogger(__name__)

_BASIC: tuple[type, ...] = (float, int, bool, str)
_CONTAINERS: dict[str, type] = {"list": list, "tuple": tuple, "dict": dict}


def get_basic_type(value: Any) -> str:
    """The type name ClearML records for ``value`` (``list/int`` for ``[1, 2]``, ``float`` ...)."""
    kind = type(value).__name__
    if isinstance(value, (list, tuple)) and value:
        inner = {type(v) for v in value}
        return f"{kind}/{inner.pop().__name__}" if len(inner) == 1 else kind
    if isinstance(value, dict) and value:
        inner = {type(v) for v in value.values()}
        return f"dict/{inner.pop().__name__}" if len(inner) == 1 else kind
    return kind


def get_type_from_basic_type_str(type_str: str) -> type:
    """The Python type a recorded type name stands for (``str`` when unknown or empty)."""
    head = (type_str or "").split("/", 1)[0]
    if head in _CONTAINERS:
        return _CONTAINERS[head]
    return next((t for t in (bool, int, float, str) if t.__name__ == head), str)


def _to_bool(text: str) -> bool:
    word = text.strip().lower()
    if word in ("true", "1", "yes", "on"):
        return True
    if word in ("false", "0", "no", "off", ""):
        return False
    raise ValueError(f"'{text}' is not a boolean")


def cast_basic_type(value: Any, type_str: str) -> Any:
    """``value`` (usually text) read as the recorded type ``type_str``; unchanged when it cannot
    be cast. An empty value with no type is None."""
    if not type_str:
        return None if value == "" else value
    head = type_str.split("/", 1)[0].strip().lower()
    try:
        if head in _CONTAINERS:
            loaded = json.loads(value) if isinstance(value, str) else value
            return _CONTAINERS[head](loaded)
        if head == "bool":
            return value if isinstance(value, bool) else _to_bool(str(value))
        if head in ("int", "float", "str"):
            return {"int": int, "float": float, "str": str}[head](value)
    except (TypeError, ValueError):
        logger.warning("could not cast %r to %s; keeping it as it is", value, type_str)
    return value


def verify_basic_type(a_dict_list: Any, basic_types: tuple[type, ...] | None = None) -> bool:
    """True when ``a_dict_list`` is made only of basic values (floats, ints, bools, strings by
    default), possibly nested in lists, tuples and dicts."""
    allowed = tuple(t for t in (basic_types or _BASIC) if t not in (list, tuple, dict))
    if isinstance(a_dict_list, allowed):
        return True
    if isinstance(a_dict_list, (list, tuple)):
        return all(verify_basic_type(v, allowed) for v in a_dict_list)
    if isinstance(a_dict_list, dict):
        return all(
            verify_basic_type(k, allowed) and verify_basic_type(v, allowed) for k, v in a_dict_list.items()
        )
    return False


def _leaf(value: Any) -> bool:
    if isinstance(value, _BASIC):
        return True
    return isinstance(value, (list, tuple)) and all(isinstance(v, _BASIC) for v in value)


def flatten_dictionary(a_dict: Mapping[Any, Any], prefix: str = "", sep: str = "/") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a/b": 1}``; lists of basic values and other objects are leaves,
    an empty nested dict stays an empty dict."""
    flat: dict[str, Any] = {}
    for key, value in a_dict.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and not _leaf(value):
            inner = flatten_dictionary(value, prefix=f"{name}{sep}", sep=sep)
            flat.update(inner if inner else {name: {}})
        else:
            flat[name] = value
    return flat


def nested_from_flat_dictionary(
    a_dict: MutableMapping[Any, Any], flat_dict: Mapping[str, Any], prefix: str = "", sep: str = "/"
) -> MutableMapping[Any, Any]:
    """Update the nested ``a_dict`` in place from ``flat_dict`` (keys as ``flatten_dictionary``
    makes them); keys ``flat_dict`` does not have keep their value. Returns ``a_dict``."""
    for key, value in list(a_dict.items()):
        name = f"{prefix}{key}"
        if isinstance(value, MutableMapping) and value and not _leaf(value):
            nested_from_flat_dictionary(value, flat_dict, prefix=f"{name}{sep}", sep=sep)
        elif name in flat_dict:
            a_dict[key] = flat_dict[name]
    return a_dict


def naive_nested_from_flat_dictionary(flat_dict: Mapping[str, Any], sep: str = "/") -> dict[str, Any]:
    """``{"a/b": 1, "a/c": 2, "d": 3}`` -> ``{"a": {"b": 1, "c": 2}, "d": 3}``. A key that is
    both a value and a prefix of others keeps the nested dict (the value goes under ``""``)."""
    out: dict[str, Any] = {}
    for key in sorted(flat_dict):
        node = out
        *parents, last = key.split(sep)
        for part in parents:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {} if child is None else {"": child}
                node[part] = child
            node = child
        if isinstance(node.get(last), dict):
            node[last][""] = flat_dict[key]
        else:
            node[last] = flat_dict[key]
    return out
