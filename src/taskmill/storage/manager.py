"""ClearML's ``clearml.storage.manager`` module: ``StorageManager`` (from
:mod:`taskmill.api.storage_manager`)."""

from __future__ import annotations

from taskmill.api.storage_manager import StorageManager

__all__ = ["StorageManager"]
