"""ClearML's examples/pipeline/decorated_pipeline_step_decorators.py, re-written: a component
that is itself wrapped by a user's own decorator (the wrapper must run inside the step)."""

import argparse

from taskmill import PipelineDecorator


def plus_one(func):
    def function_wrapper(*args, **kwargs):
        return func(*args, **kwargs) + 1

    return function_wrapper


@PipelineDecorator.component()
@plus_one
def step():
    return 1


@PipelineDecorator.pipeline(name="test_decorated", project="test_decorated")
def pipeline():
    result = step()
    assert result == 2
    print("step returned", result)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=["debug", "local", "remote"], default="local")
    mode = parser.parse_args().mode
    if mode == "debug":
        PipelineDecorator.debug_pipeline()
    elif mode == "local":
        PipelineDecorator.run_locally()
    else:
        PipelineDecorator.set_default_execution_queue("default")
    pipeline()
