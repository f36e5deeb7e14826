"""``multi_instance_support``: each call of a decorated pipeline in a process of its own."""

from __future__ import annotations

from pathlib import Path

from taskmill import PipelineDecorator
from taskmill.api.pipeline.context import DECORATOR
from taskmill.api.pipeline.multi import CHILD_MODULE

from . import decorated_lib as lib


def test_parallel_multi_instance(tm_home: Path) -> None:
    PipelineDecorator.debug_pipeline()

    @PipelineDecorator.pipeline(name="multi", project="tests", multi_instance_support="parallel")
    def multi(n: int) -> int:
        return int(lib.total(list(range(n))))

    try:
        assert multi(3) is None and multi(5) is None
        assert PipelineDecorator.wait_for_multi_pipelines() == [3, 10]
    finally:
        DECORATOR.reset()


def test_the_child_entry_is_its_own_module() -> None:
    import importlib

    child = importlib.import_module(CHILD_MODULE)
    assert callable(child.main)
