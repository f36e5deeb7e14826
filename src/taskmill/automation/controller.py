"""ClearML's ``clearml.automation.controller`` module: ``PipelineController`` and
``PipelineDecorator`` (re-exported from :mod:`taskmill.api.pipeline`, the same classes)."""

from __future__ import annotations

from taskmill.api.pipeline import PipelineController, PipelineDecorator

__all__ = ["PipelineController", "PipelineDecorator"]
