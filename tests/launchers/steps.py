"""Step functions and a decorated pipeline for launcher tests (importable by step processes)."""

from __future__ import annotations

import os
import time

from taskmill import PipelineDecorator


def add(a: int, b: int) -> int:
    return a + b


def crash(code: int = 3) -> int:
    os._exit(code)  # ends the process without recording an end


def sleepy(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


@PipelineDecorator.component(return_values=["total"], launcher="thread@plugin-address")
def on_thread(a: int, b: int) -> int:
    return a + b


@PipelineDecorator.component(return_values=["doubled"])
def double(x: int) -> int:
    return 2 * x


@PipelineDecorator.pipeline(name="routed", project="tests", version="1")
def routed(a: int = 1) -> int:
    return int(double(on_thread(a, 2)))


def parent_command() -> str:
    """The command line of the process that started this step's process."""
    with open(f"/proc/{os.getppid()}/cmdline", "rb") as f:
        return f.read().replace(b"\0", b" ").decode()


def window(seconds: float) -> list[float]:
    """When this step ran: ``[start, end]`` (wall clock), after sleeping ``seconds``."""
    start = time.time()
    time.sleep(seconds)
    return [start, time.time()]
