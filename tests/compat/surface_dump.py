"""Dump the public members of ClearML's (or taskmill's) main classes as JSON, for the surface test.

Run with the interpreter of the library to inspect: ``python surface_dump.py clearml OUT.json``.
Standard library only (it runs in a side venv that has ClearML but not taskmill's test tools).
For each class: ``{member: {"kind": ..., "params": [argument names] | null}}``; ``kind`` is
``function``, ``classmethod``, ``staticmethod``, ``property``, ``class`` or ``attribute``.
"""

from __future__ import annotations

import importlib
import inspect
import json
import sys

CLASSES = ("Task", "Logger", "Dataset", "StorageManager", "OutputModel", "InputModel", "Model")


def members(cls: type) -> dict[str, dict[str, object]]:
    """Public members of ``cls`` (and ``__init__``) with their kinds and argument names."""
    out: dict[str, dict[str, object]] = {}
    for name in dir(cls):
        if name.startswith("_") and name != "__init__":
            continue
        try:
            raw = inspect.getattr_static(cls, name)
        except AttributeError:
            continue
        target = raw.__func__ if isinstance(raw, (staticmethod, classmethod)) else raw
        if isinstance(raw, property):
            out[name] = {"kind": "property", "params": None}
        elif inspect.isclass(raw):
            out[name] = {"kind": "class", "params": None}
        elif inspect.isfunction(target):
            params = [
                p.name
                for p in inspect.signature(target).parameters.values()
                if p.name not in ("self", "cls") and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
            ]
            kind = type(raw).__name__ if isinstance(raw, (staticmethod, classmethod)) else "function"
            out[name] = {"kind": kind, "params": params}
        else:
            out[name] = {"kind": "attribute", "params": None}
    return out


def main() -> None:
    """Write the dump of library ``sys.argv[1]`` to ``sys.argv[2]``."""
    library, target = sys.argv[1], sys.argv[2]
    module = importlib.import_module(library)
    dump = {name: members(getattr(module, name)) for name in CLASSES}
    dump["__version__"] = {"version": {"kind": str(getattr(module, "__version__", "")), "params": None}}
    with open(target, "w", encoding="utf-8") as handle:
        json.dump(dump, handle, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
