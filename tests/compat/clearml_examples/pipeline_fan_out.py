"""A decorated pipeline that fans out: one component called in a loop (the calls run in parallel,
as ClearML runs them), a component with two return values, and a fan-in that waits for all of
them; the pipeline's return value is stored on the run."""

import argparse

from taskmill.automation import PipelineDecorator


@PipelineDecorator.component(return_values=["low", "high"], cache=False)
def bounds(values):
    return min(values), max(values)


@PipelineDecorator.component(return_values=["score"], cache=False)
def evaluate(seed: int, low: int, high: int):
    import random

    rng = random.Random(seed)
    return sum(rng.randint(low, high) for _ in range(10))


@PipelineDecorator.component(return_values=["best"], cache=False)
def pick_best(scores):
    best = max(range(len(scores)), key=lambda i: scores[i])
    return {"seed": best, "score": scores[best]}


@PipelineDecorator.pipeline(name="fan out", project="examples_fan", version="0.1")
def fan_out(seeds: int = 3):
    low, high = bounds([3, 9, 1, 7])
    scores = [evaluate(seed=s, low=low, high=high) for s in range(seeds)]
    best = pick_best(scores)
    print("best:", best)
    return best


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
    fan_out(seeds=3)
