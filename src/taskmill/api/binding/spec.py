"""What a framework binding is: the module it patches, the switch that turns it on, and how."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

from taskmill.api.binding.patching import Patcher


@dataclass(frozen=True)
class Binding:
    """Patch ``module`` (a full module name) with ``apply(module, patcher)`` right after it is
    imported, when ``auto_connect_frameworks`` has ``key`` on. ``apply`` may raise (an unknown
    version of the framework): the binding is then skipped with a warning."""

    key: str
    module: str
    apply: Callable[[ModuleType, Patcher], None]
