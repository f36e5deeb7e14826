"""Pipelines: ``PipelineController`` (and, later, ``PipelineDecorator``)."""

from __future__ import annotations

from taskmill.api.pipeline.controller import PipelineController

__all__ = ["PipelineController"]
