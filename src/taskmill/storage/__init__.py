"""ClearML's ``clearml.storage`` package: ``from taskmill.storage import StorageManager`` is
``taskmill.StorageManager``; :mod:`taskmill.storage.manager` has it too, as in ClearML."""

from __future__ import annotations

from taskmill.storage.manager import StorageManager

__all__ = ["StorageManager"]
