"""ClearML's examples/pipeline/decorated_pipeline_step_functions.py, re-written: a function step
wrapped by a user's decorator, its value checked by the next step."""

import argparse

from taskmill import PipelineController


def plus_one(func):
    def function_wrapper(*args, **kwargs):
        return func(*args, **kwargs) + 1

    return function_wrapper


@plus_one
def step():
    return 1


def evaluate(step_return):
    assert step_return == 2
    return step_return * 10


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=["debug", "local", "remote"], default="local")
    mode = parser.parse_args().mode

    pipeline = PipelineController(name="test_decorated_functions", project="test_decorated")
    pipeline.add_function_step(name="step", function=step, function_return=["step_return"])
    pipeline.add_function_step(
        name="evaluate",
        function=evaluate,
        function_kwargs=dict(step_return="${step.step_return}"),
        function_return=["checked"],
    )
    if mode == "remote":
        pipeline.set_default_execution_queue("default")
        pipeline.start(queue="services")
    else:
        pipeline.start_locally(run_pipeline_steps_locally=True)
