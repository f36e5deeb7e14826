"""A PipelineController in the style of ClearML's examples/pipeline/pipeline_controller.py: function
steps with a fan-out and a fan-in, pipeline parameters, and ``pre_execute_callback`` /
``post_execute_callback`` that see each node."""

# ClearML's own style is kept on purpose: only the imports differ
# ruff: noqa: UP032

import argparse

from taskmill import PipelineController


def make_numbers(count):
    print("make_numbers", count)
    return list(range(int(count)))


def square(numbers):
    return [n * n for n in numbers]


def cube(numbers):
    return [n * n * n for n in numbers]


def combine(squares, cubes, offset=0):
    total = sum(squares) + sum(cubes) + int(offset)
    print("combined total", total)
    return total


def pre_execute_callback_example(a_pipeline, a_node, current_param_override):
    print("Cloning Task id={} with parameters: {}".format(a_node.base_task_id, current_param_override))
    return True


def post_execute_callback_example(a_pipeline, a_node):
    print("Completed Task id={} ({})".format(a_node.executed, a_node.name))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=["debug", "local", "remote"], default="local")
    mode = parser.parse_args().mode

    pipe = PipelineController(name="callbacks demo", project="examples_callbacks", version="1.0.0")
    pipe.set_default_execution_queue("default")
    pipe.add_parameter("count", default=4, description="how many numbers")
    pipe.add_function_step(
        name="make_numbers",
        function=make_numbers,
        function_kwargs=dict(count="${pipeline.count}"),
        function_return=["numbers"],
        cache_executed_step=False,
    )
    for name, function in (("square", square), ("cube", cube)):
        pipe.add_function_step(
            name=name,
            function=function,
            function_kwargs=dict(numbers="${make_numbers.numbers}"),
            function_return=["values"],
            parents=["make_numbers"],
            post_execute_callback=post_execute_callback_example,
        )
    pipe.add_function_step(
        name="combine",
        function=combine,
        function_kwargs=dict(squares="${square.values}", cubes="${cube.values}"),
        function_return=["total"],
        parents=["square", "cube"],
        pre_execute_callback=pre_execute_callback_example,
        post_execute_callback=post_execute_callback_example,
    )
    if mode == "remote":
        pipe.start(queue="services")
    else:
        pipe.start_locally(run_pipeline_steps_locally=True)
    print("pipeline completed")
