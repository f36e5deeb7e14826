"""A decorated component outside any pipeline is a plain call, and keeps the function's identity."""

from __future__ import annotations

from taskmill import PipelineDecorator


@PipelineDecorator.component(return_values=["total"], execution_queue="cpu", tags="math")
def add(a: int, b: int = 2) -> int:
    """Add two numbers."""
    return a + b


def test_outside_a_pipeline_a_component_is_the_function() -> None:
    assert add(1) == 3
    assert add.__name__ == "add" and add.__doc__ == "Add two numbers."


def test_its_step_is_defined_once_at_decoration() -> None:
    spec = add.spec  # type: ignore[attr-defined]
    assert spec.name == "add" and spec.kind == "function" and spec.function_return == ("total",)
    assert spec.queue == "cpu" and spec.tags == ("math",) and "return a + b" in spec.function_source
