"""Failures explain themselves (issue 13 item 3), from outside, on real scripts: the console
summary names the first failed step's exception and where its log is; in the decorator a value
of a step skipped because another failed raises StepFailedError naming that root failure; a
step's traceback names the user's file and line, not ``<dynamic-code>``."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

TASKMILL = str(Path(sys.executable).parent / "taskmill")

CONTROLLER = """
from taskmill import PipelineController


def load():
    x = 1
    raise RuntimeError("boom in load")


def use(v):
    return v


pipe = PipelineController(name="explain", project="t")
pipe.add_function_step("load", load, function_return=["v"])
pipe.add_function_step("use", use, function_kwargs={"v": "${load.v}"}, function_return=["w"])
pipe.start_locally(run_pipeline_steps_locally=True)
"""

DECORATED = """
from taskmill import PipelineDecorator


@PipelineDecorator.component(return_values=["v"])
def load():
    raise RuntimeError("boom in load")


@PipelineDecorator.component(return_values=["w"])
def use(v):
    return v


@PipelineDecorator.pipeline(name="explain deco", project="t", version="1.0")
def main():
    w = use(load())
    print("W IS", w + 1)


if __name__ == "__main__":
    PipelineDecorator.run_locally()
    main()
"""


def _run(code: str, folder: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    script = folder / "script.py"
    script.write_text(textwrap.dedent(code))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKMILL_")}
    env["TASKMILL_HOME"] = str(home)
    return subprocess.run(
        [*args] if args else [sys.executable, str(script)],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_summary_shows_the_cause_and_the_log_shows_the_real_file(tmp_path: Path) -> None:
    home = tmp_path / "home"
    proc = _run(CONTROLLER, tmp_path, home)
    out = proc.stdout + proc.stderr
    reason = next(line for line in out.splitlines() if "reason:" in line)
    assert "step(s) failed: load; load: RuntimeError: boom in load (see `taskmill tasks logs " in reason
    task_id = reason.split("taskmill tasks logs ")[1].split("`")[0]
    logs = _run("", tmp_path, home, TASKMILL, "tasks", "logs", task_id)
    assert logs.returncode == 0, logs.stderr
    assert "<dynamic-code>" not in logs.stdout
    assert f'File "{tmp_path / "script.py"}", line 7, in load' in logs.stdout, logs.stdout
    assert 'raise RuntimeError("boom in load")' in logs.stdout  # the source line, as in an IDE


def test_a_skipped_steps_value_raises_naming_the_root_failure(tmp_path: Path) -> None:
    proc = _run(DECORATED, tmp_path, tmp_path / "home")
    assert proc.returncode != 0
    assert "TypeError" not in proc.stderr and "W IS" not in proc.stdout
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("taskmill.errors.StepFailedError: pipeline step 'use' was skipped because ")
    assert "pipeline step 'load' (task " in last and "failed: RuntimeError: boom in load" in last
