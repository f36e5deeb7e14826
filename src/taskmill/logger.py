"""ClearML's ``clearml.logger`` module: ``from taskmill.logger import Logger`` is ``taskmill.Logger``."""

from __future__ import annotations

from taskmill.api.logger import Logger

__all__ = ["Logger"]
