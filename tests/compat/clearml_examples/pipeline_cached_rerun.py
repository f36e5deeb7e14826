"""A decorated pipeline run again, as users re-run a pipeline while working on it: components
with ``cache=True`` are not run again when their code and arguments are unchanged (the next run
reuses the earlier run's step task); a component whose argument changed (``--label``) runs."""

import argparse

from taskmill.automation import PipelineDecorator


@PipelineDecorator.component(return_values=["rows"], cache=True)
def make_rows(count: int):
    print("making rows")
    return [{"i": i, "even": i % 2 == 0} for i in range(count)]


@PipelineDecorator.component(return_values=["evens"], cache=True)
def count_evens(rows, label: str):
    print("counting", label)
    return {label: sum(1 for r in rows if r["even"])}


@PipelineDecorator.pipeline(name="cached rerun", project="examples_cache", version="0.1")
def cached_pipeline(count: int, label: str):
    rows = make_rows(count)
    print("evens:", count_evens(rows, label))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=["debug", "local", "remote"], default="local")
    parser.add_argument("--label", default="first")
    args = parser.parse_args()
    mode = args.mode
    if mode == "debug":
        PipelineDecorator.debug_pipeline()
    elif mode == "local":
        PipelineDecorator.run_locally()
    else:
        PipelineDecorator.set_default_execution_queue("default")
    cached_pipeline(count=6, label=args.label)
