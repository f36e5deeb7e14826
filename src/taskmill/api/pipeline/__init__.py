"""Pipelines: ``PipelineController`` (steps added by code) and ``PipelineDecorator`` (steps from
decorated functions), on the engine's run loop. See :mod:`taskmill.api.pipeline.controller` and
:mod:`taskmill.api.pipeline.decorator` for how each class is split into modules."""

from __future__ import annotations

from taskmill.api.pipeline.controller import PipelineController
from taskmill.api.pipeline.decorator import PipelineDecorator

__all__ = ["PipelineController", "PipelineDecorator"]
