"""Lazy framework bindings: patch a framework right after the user's own import of it.

:func:`bind_frameworks` (called by ``Task.init``) patches every watched module that is already
imported, and puts a :class:`FrameworkFinder` first on ``sys.meta_path``. The finder imports
nothing itself: when a watched module is being imported it finds the module's spec through the
other finders and wraps the loader, so the module executes exactly as it would and is patched
right after its own code has run (before the ``import`` statement returns to the user). So no
framework is ever imported because of taskmill, and an unused binding costs one set look-up per
import.

The finder on ``sys.meta_path`` is the only record of the bindings (there is no other global):
a second ``bind_frameworks`` replaces its options (undoing the patches first, so nothing is
patched twice), :func:`release_frameworks` undoes every patch and removes the finder. Both are
idempotent and blocking; wrappers resolve the current task at each call, so after the task closes
they pass calls straight through even before the release.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import threading
from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import Any

from taskmill.api.binding.patching import LOG, Options, Patcher
from taskmill.api.binding.spec import Binding

#: ``(key, watched module, family)`` of every binding, in the order they are applied. The family
#: module that implements a binding is imported only once its watched module is (Task.init stays
#: lean); :func:`family_bindings` returns what each family defines, which must match this table.
WATCHED: tuple[tuple[str, str, str], ...] = (
    ("joblib", "joblib", "serialized"),
    ("joblib", "pickle", "serialized"),
    ("pytorch", "torch", "pytorch"),
    ("xgboost", "xgboost", "boosting"),
    ("lightgbm", "lightgbm", "boosting"),
    ("catboost", "catboost", "boosting"),
    ("tensorflow", "keras", "keras"),
    ("tensorflow", "tf_keras", "keras"),
    ("tensorboard", "torch.utils.tensorboard", "tensorboard"),
    ("tensorboard", "tensorboardX", "tensorboard"),
    ("matplotlib", "matplotlib.figure", "plots"),
    ("matplotlib", "matplotlib.pyplot", "plots"),
)

#: the keys of ``auto_connect_frameworks`` that switch a binding
FRAMEWORK_KEYS: tuple[str, ...] = (*dict.fromkeys(key for key, _, _ in WATCHED), "scikit")


def family_bindings(family: str) -> tuple[Binding, ...]:
    """The bindings that family module ``taskmill.api.binding.<family>`` defines (imports it)."""
    if family == "serialized":
        from taskmill.api.binding.serialized import BINDINGS as SERIALIZED

        return SERIALIZED
    if family == "pytorch":
        from taskmill.api.binding.pytorch import BINDINGS as PYTORCH

        return PYTORCH
    if family == "boosting":
        from taskmill.api.binding.boosting import BINDINGS as BOOSTING

        return BOOSTING
    if family == "keras":
        from taskmill.api.binding.keras import BINDINGS as KERAS

        return KERAS
    if family == "tensorboard":
        from taskmill.api.binding.tensorboard import BINDINGS as TENSORBOARD

        return TENSORBOARD
    if family == "plots":
        from taskmill.api.binding.plots import BINDINGS as PLOTS

        return PLOTS
    raise ValueError(f"unknown binding family {family!r}")


class _PatchingLoader(importlib.abc.Loader):
    """Runs the real loader, then patches the module. The module's ``__loader__`` and
    ``__spec__.loader`` are the real loader again before its code runs."""

    def __init__(self, loader: importlib.abc.Loader, finder: FrameworkFinder) -> None:
        self._loader = loader
        self._finder = finder

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        if module.__spec__ is not None:
            module.__spec__.loader = self._loader
        module.__loader__ = self._loader
        self._loader.exec_module(module)
        self._finder.apply(module.__name__, module)

    def __getattr__(self, name: str) -> Any:  # get_resource_reader, is_package, ...
        return getattr(self._loader, name)


class FrameworkFinder(importlib.abc.MetaPathFinder):
    """Watches imports of the modules some binding patches (see the module docstring)."""

    def __init__(self, options: Options) -> None:
        self.patcher = Patcher(options)
        self._watched = {module for key, module, _ in WATCHED if options.enabled(key)}
        self._applied: set[str] = set()
        self._finding = threading.local()

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in self._watched or fullname in self._applied:
            return None
        finding: set[str] = getattr(self._finding, "names", set())
        if fullname in finding:
            return None
        self._finding.names = finding | {fullname}
        try:
            for finder in sys.meta_path:
                if finder is self or not hasattr(finder, "find_spec"):
                    continue
                spec = finder.find_spec(fullname, path, target)
                if spec is not None:
                    break
            else:
                return None
        finally:
            self._finding.names = finding
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _PatchingLoader(spec.loader, self)
        return spec

    def apply(self, name: str, module: ModuleType) -> None:
        """Apply the bindings of module ``name`` once; a failing binding is logged and skipped."""
        if name in self._applied or name not in self._watched:
            return
        self._applied.add(name)
        for key, watched, family in WATCHED:
            if watched != name or not self.patcher.options.enabled(key):
                continue
            for binding in family_bindings(family):
                if binding.module != name or binding.key != key:
                    continue
                try:
                    binding.apply(module, self.patcher)
                except Exception as err:  # an unknown version of the framework: no auto-logging
                    LOG.warning("taskmill: could not bind %s (%s): %s", name, binding.key, err)

    def apply_imported(self) -> None:
        """Apply the bindings of watched modules that are imported already."""
        for name in sorted(self._watched):
            module = sys.modules.get(name)
            if module is not None:
                self.apply(name, module)

    def release(self) -> None:
        """Undo every patch (the finder stays where it is)."""
        self.patcher.undo()
        self._applied.clear()


def current_finder() -> FrameworkFinder | None:
    """The finder of the bindings in force, if any."""
    return next((f for f in sys.meta_path if isinstance(f, FrameworkFinder)), None)


def bind_frameworks(auto_connect_frameworks: bool | Mapping[str, Any] = True) -> FrameworkFinder | None:
    """Switch framework auto-logging on as ``auto_connect_frameworks`` says (``Task.init``'s
    argument: ``True``/``False`` or ``{key: False, ...}``, keys :data:`FRAMEWORK_KEYS`), replacing
    bindings already in force. Returns the finder, or None when every binding is off. Blocking
    (patches modules already imported), idempotent for the same options."""
    release_frameworks()
    options = Options(auto_connect_frameworks)
    if not any(options.enabled(key) for key, _, _ in WATCHED):
        return None
    finder = FrameworkFinder(options)
    sys.meta_path.insert(0, finder)
    finder.apply_imported()
    return finder


def release_frameworks() -> None:
    """Undo every binding and stop watching imports (``task.close()``). Idempotent."""
    while (finder := current_finder()) is not None:
        finder.release()
        sys.meta_path.remove(finder)
