"""A PipelineController whose ``pre_execute_callback`` returns False for one step, the way ClearML
code switches a step off without editing the DAG: that step is skipped, the other branch runs."""

import argparse

from taskmill import PipelineController


def prepare(size):
    return list(range(int(size)))


def expensive_report(values):
    raise RuntimeError("this step is switched off by the callback and must not run")


def cheap_report(values):
    return {"count": len(values), "total": sum(values)}


def only_cheap(a_pipeline, a_node, current_param_override):
    print("deciding on", a_node.name)
    return a_node.name != "expensive_report"


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=["debug", "local", "remote"], default="local")
    mode = parser.parse_args().mode

    pipe = PipelineController(name="skip demo", project="examples_skip", version="1.0")
    pipe.set_default_execution_queue("default")
    pipe.add_parameter("size", default=5)
    pipe.add_function_step(
        name="prepare",
        function=prepare,
        function_kwargs=dict(size="${pipeline.size}"),
        function_return=["values"],
        cache_executed_step=False,
    )
    for name, function in (("expensive_report", expensive_report), ("cheap_report", cheap_report)):
        pipe.add_function_step(
            name=name,
            function=function,
            function_kwargs=dict(values="${prepare.values}"),
            function_return=["report"],
            parents=["prepare"],
            pre_execute_callback=only_cheap,
            cache_executed_step=False,
        )
    if mode == "remote":
        pipe.start(queue="services")
    else:
        pipe.start_locally(run_pipeline_steps_locally=True)
    print("pipeline completed")
