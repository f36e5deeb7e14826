"""ClearML's ``clearml.datasets`` package: ``from taskmill.datasets import Dataset`` is
``taskmill.Dataset``; :mod:`taskmill.datasets.dataset` has it too, as in ClearML."""

from __future__ import annotations

from taskmill.datasets.dataset import Dataset

__all__ = ["Dataset"]
