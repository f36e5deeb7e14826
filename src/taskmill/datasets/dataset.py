"""ClearML's ``clearml.datasets.dataset`` module: ``Dataset`` (from :mod:`taskmill.api.dataset`)."""

from __future__ import annotations

from taskmill.api.dataset import Dataset

__all__ = ["Dataset"]
