"""ClearML's ``clearml.model`` module: ``OutputModel``, ``InputModel`` and ``Model``, the same
classes as ``taskmill.OutputModel`` ... (from :mod:`taskmill.api.model`)."""

from __future__ import annotations

from taskmill.api.model import InputModel, Model, OutputModel

__all__ = ["InputModel", "Model", "OutputModel"]
