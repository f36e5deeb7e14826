"""ClearML's nested components: a component that calls other components (each call becomes a
step of its own, a child of the calling step), from a decorated pipeline."""

import argparse

from taskmill import TaskTypes
from taskmill.automation.controller import PipelineDecorator


@PipelineDecorator.component(return_values=["squares"], cache=False, task_type=TaskTypes.data_processing)
def make_squares(count: int):
    return [i * i for i in range(count)]


@PipelineDecorator.component(return_values=["total"], cache=False)
def add_up(values):
    return sum(values)


@PipelineDecorator.component(return_values=["report"], cache=False, task_type=TaskTypes.qc)
def summarize(count: int):
    # a component calling components: ClearML runs them as steps of their own
    squares = make_squares(count)
    total = add_up(squares)
    return {"count": count, "total": total}


@PipelineDecorator.pipeline(name="nested components", project="examples", version="0.1")
def nested_pipeline(count: int = 5):
    report = summarize(count)
    print("report:", report)
    assert report == {"count": count, "total": sum(i * i for i in range(count))}


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
    nested_pipeline(count=5)
