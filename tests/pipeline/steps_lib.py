"""Step functions for pipeline tests (importable, so every execution mode can run them)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any


def make_numbers(n: int) -> list[int]:
    return list(range(n))


def add(a: int, b: int) -> int:
    return a + b


def total(values: list[int]) -> int:
    return sum(values)


def scale(values: list[int], factor: int = 2) -> list[int]:
    return [v * factor for v in values]


def split(values: list[int]) -> tuple[list[int], list[int]]:
    half = len(values) // 2
    return values[:half], values[half:]


def stamp(label: str, delay: float = 0.0) -> dict[str, Any]:
    start = time.time()
    time.sleep(delay)
    return {"label": label, "start": start, "end": time.time(), "pid": os.getpid()}


def boom(x: int = 0) -> int:
    raise RuntimeError(f"boom {x}")


def fail_until(marker: str, value: int = 1) -> int:
    """Fails while ``marker`` does not exist; counts its calls in ``marker + '.calls'``."""
    calls = Path(marker + ".calls")
    calls.write_text(str(int(calls.read_text() or 0) + 1 if calls.exists() else 1))
    if not Path(marker).exists():
        raise RuntimeError(f"marker {marker} missing")
    return value


def sleepy(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def helper_double(x: int) -> int:
    return x * 2


def uses_helper(x: int) -> int:
    return helper_double(x) + 1


def report(x: int) -> int:
    from taskmill import PipelineController, Task

    task = Task.current_task()
    assert task is not None
    print(f"step task {task.id} sees {x}")
    task.get_logger().report_scalar("quality", "score", x * 10.0, 0)
    PipelineController.get_logger().report_scalar("pipeline", "x", float(x), 0)
    return x


def numpy_block(n: int) -> Any:
    import numpy as np

    return np.arange(n, dtype=np.float64)


def numpy_sum(a: Any) -> float:
    return float(a.sum())


def save_model(tag: str) -> str:
    """Writes a fake weights file and registers it as an output model of the step (and the run)."""
    import tempfile

    from taskmill import PipelineController, Task

    path = Path(tempfile.mkdtemp()) / f"{tag}.bin"
    path.write_bytes(tag.encode() * 10)
    task = Task.current_task()
    assert task is not None
    task.update_output_model(str(path), name=tag)
    PipelineController.upload_model(f"best-{tag}", str(path))
    return tag


def read_file(path: str) -> str:
    from taskmill import StorageManager

    return Path(StorageManager.get_local_copy(path)).read_text()
