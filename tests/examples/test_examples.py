"""The examples run as a new user runs them, in every local mode, from their own folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from taskmill.store.base import TaskFilter, TaskStore

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def run(script: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKMILL_")}
    env["TASKMILL_HOME"] = str(home)
    proc = subprocess.run(
        [sys.executable, str(script), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


@pytest.mark.parametrize("mode", ["process", "debug"])
def test_pipeline_from_functions(tm_home: Path, mode: str) -> None:
    first = run(EXAMPLES / "pipeline_from_functions.py", tm_home, "--mode", mode)
    assert "best: C=" in first.stdout and "5 completed" in first.stdout
    second = run(EXAMPLES / "pipeline_from_functions.py", tm_home, "--mode", mode)
    assert "4 cached" in second.stdout  # every cached step is reused on the second run


@pytest.mark.parametrize("mode", ["process", "debug"])
def test_tabular_fan_out_fan_in(tm_home: Path, mode: str) -> None:
    out = run(EXAMPLES / "tabular_pipeline.py", tm_home, "--mode", mode).stdout
    assert "6 completed" in out and "accuracies:" in out


def test_pipeline_from_tasks(tm_home: Path, store: TaskStore) -> None:
    out = run(EXAMPLES / "pipeline_from_tasks" / "pipeline_from_tasks.py", tm_home).stdout
    assert "3 completed" in out
    (run_task,) = store.find_tasks(
        TaskFilter(project="examples/.pipelines/pipeline from tasks", system_tags=("pipeline",))
    )
    scalars = store.get_scalars(run_task.id)
    assert [(p.title, p.series) for p in scalars] == [("accuracy", "test")]  # monitored from stage_train


def test_demo_and_tasks_demo(tm_home: Path) -> None:
    out = run(EXAMPLES / "demo.py", tm_home).stdout
    assert "taskmill pipelines explain" in out and "completed" in out
    again = run(EXAMPLES / "demo.py", tm_home).stdout
    assert "cache: hit" in again
    assert "accuracy:" in run(EXAMPLES / "tasks_demo.py", tm_home).stdout


@pytest.mark.parametrize("mode", ["process", "debug"])
def test_decorator_examples(tm_home: Path, mode: str) -> None:
    first = run(EXAMPLES / "pipeline_from_decorator.py", tm_home, "--mode", mode).stdout
    assert "accuracy: 1.000" in first and "4 completed" in first
    second = run(EXAMPLES / "pipeline_from_decorator.py", tm_home, "--mode", mode).stdout
    assert "1 completed, 3 cached" in second  # every cached component hits; step_four has no cache
    tabular = run(EXAMPLES / "decorated_tabular_pipeline.py", tm_home, "--mode", mode).stdout
    assert "best depth" in tabular and "8 completed" in tabular
    steps = run(EXAMPLES / "decorated_step_functions.py", tm_home, "--mode", mode).stdout
    assert "decorator pipeline result: 285" in steps and "add_up took" in steps
