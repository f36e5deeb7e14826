"""Pipelines the UI tests run: importable step functions (function steps need them) and builders,
plus a script whose steps wait for marker files, run as a real process for the live tests."""

from __future__ import annotations

from typing import Any

from taskmill import PipelineController, Task


def load(n: int = 4) -> list[int]:
    print(f"loading {n} numbers")
    return list(range(n))


def train(xs: list[int], rate: float = 0.1) -> float:
    """Reports a short loss curve and returns a score."""
    logger = Task.current_task().get_logger()
    for i in range(8):
        logger.report_scalar("loss", "train", 1.0 / (1 + i * rate * 10), iteration=i)
        logger.report_scalar("loss", "validation", 1.2 / (1 + i * rate * 8), iteration=i)
    print(f"trained on {len(xs)} numbers at rate {rate}")
    return sum(xs) * rate


def evaluate(score: float, fail: bool = False) -> float:
    if fail:
        raise RuntimeError("evaluation refused the model")
    print(f"score {score}")
    return score


def shout(text: str) -> str:
    print("<b>not bold</b> & <script>alert('log')</script>")
    return text.upper()


def noop() -> int:
    return 0


def inc(x: int) -> int:
    return x + 1


def gather(*values: Any) -> int:
    return len(values)


def training(*, fail: bool = False, rate: float = 0.1) -> PipelineController:
    """load -> train -> evaluate, with stages; ``fail`` makes evaluate raise."""
    pipe = PipelineController(name="training", project="ui-tests")
    pipe.add_parameter("rate", rate, description="learning rate")
    pipe.add_parameter("fail", fail)
    pipe.add_function_step("load", load, function_return="xs", cache_executed_step=True, stage="prepare")
    pipe.add_function_step(
        "train",
        train,
        function_kwargs={"xs": "${load.xs}", "rate": "${pipeline.rate}"},
        function_return="score",
        stage="model",
    )
    pipe.add_function_step(
        "evaluate",
        evaluate,
        function_kwargs={"score": "${train.score}", "fail": "${pipeline.fail}"},
        function_return="final",
        stage="model",
    )
    return pipe


def hostile() -> PipelineController:
    """Names, parameters and logs that are HTML: the UI must show them as text."""
    pipe = PipelineController(name="<img src=x onerror=alert(1)>", project="ui-tests")
    pipe.add_parameter("text", "<script>alert('param')</script>")
    pipe.add_function_step(
        "<script>alert(1)</script>",
        shout,
        function_kwargs={"text": "${pipeline.text}"},
        function_return="out",
    )
    return pipe


def fan(n: int) -> PipelineController:
    """root -> train_0 .. train_{n-1} -> join."""
    pipe = PipelineController(name=f"fan{n}", project="ui-tests")
    pipe.add_function_step("root", noop, function_return="r")
    for i in range(n):
        pipe.add_function_step(f"train_{i}", inc, function_kwargs={"x": "${root.r}"}, function_return="x")
    pipe.add_function_step("join", gather, parents=[f"train_{i}" for i in range(n)], function_return="n")
    return pipe


#: A process-mode pipeline: ``first`` then ``second``, each waiting until a file named after it
#: exists in the folder given as the first argument (the test releases them one by one).
GATED_SCRIPT = """
import sys
import time
from pathlib import Path

from taskmill import PipelineController


def gated(name: str, gate: str) -> str:
    print(f"step {name} is waiting for its marker", flush=True)
    while not Path(gate, name).exists():
        time.sleep(0.05)
    print(f"step {name} was released", flush=True)
    return name


if __name__ == "__main__":
    pipe = PipelineController(name="gated", project="ui-tests")
    pipe.add_parameter("gate", sys.argv[1])
    pipe.add_parameter("label", "first try")
    pipe.add_function_step(
        "first", gated, function_kwargs={"name": "first", "gate": "${pipeline.gate}"}, function_return="out"
    )
    pipe.add_function_step(
        "second", gated, function_kwargs={"name": "second", "gate": "${pipeline.gate}"},
        function_return="out", parents=["first"],
    )
    pipe.start_locally(run_pipeline_steps_locally=True)
"""


#: A pipeline script an agent can re-run (no command-line arguments): one step greeting ``label``.
#: Run by hand its step runs locally; re-run by a services-mode agent, the step goes to ``default``.
GREETING_SCRIPT = """
from taskmill import PipelineController


def greet(label: str) -> str:
    print(f"hello from {label}", flush=True)
    return label


if __name__ == "__main__":
    pipe = PipelineController(name="greeting", project="ui-tests")
    pipe.add_parameter("label", "the first run")
    pipe.set_default_execution_queue("default")
    pipe.add_function_step(
        "greet", greet, function_kwargs={"label": "${pipeline.label}"}, function_return="out"
    )
    pipe.start_locally(run_pipeline_steps_locally=True)
"""
