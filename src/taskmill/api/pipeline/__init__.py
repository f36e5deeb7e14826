"""Pipelines: ``PipelineController`` (and, later, ``PipelineDecorator``)."""

from __future__ import annotations

from taskmill.api.pipeline.controller import PipelineController
from taskmill.api.pipeline.decorator import PipelineDecorator

__all__ = ["PipelineController", "PipelineDecorator"]
