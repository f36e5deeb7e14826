"""Pipelines for the ``taskmill pipelines`` tests: step functions (importable, as function steps
need) and builders, plus the scripts the resume/abort tests run as real processes."""

from __future__ import annotations

from taskmill import PipelineController


def load(n: int = 3) -> list[int]:
    return list(range(n))


def double(xs: list[int]) -> list[int]:
    return [x * 2 for x in xs]


def square(xs: list[int], fail: bool = False) -> list[int]:
    if fail:
        raise RuntimeError("square refused its input")
    return [x * x for x in xs]


def join(a: list[int], b: list[int]) -> int:
    return sum(a) + sum(b)


def diamond(
    *, n: int = 3, fail: bool = False, project: str = "tests", name: str = "diamond"
) -> PipelineController:
    """load -> (double, square) -> join; ``fail`` makes ``square`` raise (so ``join`` is skipped).
    Every step but ``join`` may be taken from the cache."""
    pipe = PipelineController(name=name, project=project)
    pipe.add_parameter("n", n, description="how many numbers")
    pipe.add_parameter("fail", fail)
    pipe.add_function_step(
        "load", load, function_kwargs={"n": "${pipeline.n}"}, function_return=["xs"], cache_executed_step=True
    )
    pipe.add_function_step(
        "double",
        double,
        function_kwargs={"xs": "${load.xs}"},
        function_return=["ys"],
        cache_executed_step=True,
    )
    pipe.add_function_step(
        "square",
        square,
        function_kwargs={"xs": "${load.xs}", "fail": "${pipeline.fail}"},
        function_return=["zs"],
        cache_executed_step=True,
    )
    pipe.add_function_step(
        "join", join, function_kwargs={"a": "${double.ys}", "b": "${square.zs}"}, function_return=["total"]
    )
    return pipe


#: A process-mode pipeline whose ``flaky`` step fails until a ``marker`` file exists next to it.
RESUMABLE_SCRIPT = """
from pathlib import Path

from taskmill import PipelineController

MARKER = Path(__file__).with_name("marker")


def prepare(n: int):
    return n * 10


def flaky(x):
    if not MARKER.exists():
        raise RuntimeError("marker file missing")
    return x + 1


def report(y, suffix: str):
    return f"y={y}{suffix}"


if __name__ == "__main__":
    pipe = PipelineController(name="resumable", project="tests")
    pipe.add_parameter("n", 2)
    pipe.add_parameter("suffix", "")
    pipe.add_function_step("prepare", prepare, function_kwargs={"n": "${pipeline.n}"}, function_return=["x"])
    pipe.add_function_step("flaky", flaky, function_kwargs={"x": "${prepare.x}"}, function_return=["y"])
    pipe.add_function_step(
        "report", report, function_kwargs={"y": "${flaky.y}", "suffix": "${pipeline.suffix}"},
        function_return=["text"],
    )
    pipe.start_locally(run_pipeline_steps_locally=True)
"""

#: A process-mode pipeline whose ``nap`` step sleeps ``seconds`` (a minute: to be aborted); ``after`` waits
#: for it.
SLEEPY_SCRIPT = """
import time

from taskmill import PipelineController


def nap(seconds: float):
    time.sleep(seconds)
    return seconds


def after(slept):
    return slept


if __name__ == "__main__":
    pipe = PipelineController(name="sleepy", project="tests")
    pipe.add_parameter("seconds", 60.0)
    pipe.add_function_step(
        "nap", nap, function_kwargs={"seconds": "${pipeline.seconds}"}, function_return=["slept"]
    )
    pipe.add_function_step("after", after, function_kwargs={"slept": "${nap.slept}"}, function_return=["out"])
    pipe.start_locally(run_pipeline_steps_locally=True)
"""
