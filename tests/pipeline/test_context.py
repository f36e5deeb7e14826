"""The decorator's process state: its switches, the current pipeline, parallel calls."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from taskmill import PipelineDecorator
from taskmill.api.pipeline.context import DECORATOR, DecoratorContext
from taskmill.engine.launchers import RunMode


class Done:
    def __init__(self, value: int) -> None:
        self.value = value

    def result(self) -> int:
        return self.value


@pytest.fixture
def clean() -> Iterator[None]:
    DECORATOR.reset()
    yield
    DECORATOR.reset()


def test_class_level_switches_set_the_process_state(clean: None) -> None:
    assert DECORATOR.mode is None
    PipelineDecorator.run_locally()
    assert DECORATOR.mode is RunMode.process
    PipelineDecorator.debug_pipeline()
    assert DECORATOR.mode is RunMode.debug
    PipelineDecorator.set_default_execution_queue("gpu")
    assert DECORATOR.default_queue == "gpu"
    assert PipelineDecorator.get_current_pipeline() is None  # no pipeline function runs here
    DECORATOR.reset()
    assert DECORATOR.mode is None and DECORATOR.default_queue is None


def test_parallel_calls_are_taken_once_in_call_order() -> None:
    context = DecoratorContext()
    context.add_instance(Done(1))
    context.add_instance(Done(2))
    assert [i.result() for i in context.take_instances()] == [1, 2]
    assert context.take_instances() == []
