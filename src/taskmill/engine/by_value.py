"""Which step functions travel by value: those of the user's own modules, not installed packages.

cloudpickle sends a function of an importable module by reference (module and name), so the
process that runs the step must be able to import that module. A pipeline file's functions
(``from pipeline import pipe`` in a ``remote.py``) are importable on the machine that defined
them but not on an agent that has only the task's script: they are sent by value instead, like
ClearML sends a function step's source. Installed packages, the standard library and taskmill
itself stay by reference (the agent installs the packages the task needs).
"""

from __future__ import annotations

import sys
import sysconfig
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any


def _library_roots() -> tuple[Path, ...]:
    paths = sysconfig.get_paths()
    return tuple({Path(paths[k]).resolve() for k in ("stdlib", "platstdlib", "purelib", "platlib")})


def local_module(function: Callable[..., Any] | None) -> ModuleType | None:
    """The module of ``function`` when it is one of the user's own files (not ``__main__``,
    which cloudpickle already sends by value, nor the stdlib, site-packages or taskmill)."""
    name = getattr(function, "__module__", None) or ""
    if not name or name == "__main__" or name == "taskmill" or name.startswith("taskmill."):
        return None
    module = sys.modules.get(name)
    path = getattr(module, "__file__", None)
    if module is None or not path:
        return None
    resolved = Path(path).resolve()
    if any(resolved.is_relative_to(root) for root in _library_roots()):
        return None
    return module


@contextmanager
def by_value(function: Callable[..., Any] | None) -> Iterator[bool]:
    """Within the block, cloudpickle pickles ``function``'s module by value if it is a local
    module (yields whether it does). cloudpickle's registry is process-wide: the registration
    is undone on exit unless the module was registered before."""
    import cloudpickle

    module = local_module(function)
    if module is None:
        yield False
        return
    name = module.__name__
    try:
        cloudpickle.unregister_pickle_by_value(module)  # raises if it was not registered
        registered_before = True
        cloudpickle.register_pickle_by_value(module)
    except ValueError:
        registered_before = False
        cloudpickle.register_pickle_by_value(module)
    try:
        yield True
    finally:
        if not registered_before and name in sys.modules:
            cloudpickle.unregister_pickle_by_value(module)
