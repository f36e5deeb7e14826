"""A decorated pipeline called several times from one script (ClearML's
``multi_instance_support=True``): every call is a run of its own, with its own parameters."""

import argparse

from taskmill.automation.controller import PipelineDecorator


@PipelineDecorator.component(return_values=["scaled"], cache=False)
def scale(values, factor):
    return [v * factor for v in values]


@PipelineDecorator.component(return_values=["total"], cache=False)
def total(values):
    return sum(values)


@PipelineDecorator.pipeline(
    name="multi instance", project="examples", version="0.1", multi_instance_support=True
)
def scaled_total(factor: int = 1):
    result = total(scale([1, 2, 3, 4], factor))
    print(f"factor={factor} total={result}")
    return result


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
    for factor in (2, 3):
        scaled_total(factor=factor)
    print("all pipelines launched")
