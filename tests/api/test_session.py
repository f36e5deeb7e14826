"""The process context: the current task (step over main), requirement controls, reset."""

from __future__ import annotations

import contextvars
from pathlib import Path

from taskmill import Logger, Task
from taskmill.api.session import ProcessContext


def test_current_task_is_the_step_of_this_context_else_the_main_task(tm_home: Path) -> None:
    context = ProcessContext()
    assert context.current_task() is None
    main = Task.create(project_name="p", task_name="main")
    step = Task.create(project_name="p", task_name="step")
    context.main_task = main
    assert context.current_task() is main

    def in_step() -> object:
        context.step_task.set(step)
        return context.current_task()

    assert contextvars.copy_context().run(in_step) is step  # another context sees its own step
    assert context.current_task() is main


def test_task_current_task_and_current_logger_follow_the_step(tm_home: Path) -> None:
    from taskmill.api.session import PROCESS

    step = Task.create(project_name="p", task_name="step")
    token = PROCESS.step_task.set(step)
    try:
        assert Task.current_task() is step
        Logger.current_logger().report_text("from the step", print_console=False)
    finally:
        PROCESS.step_task.reset(token)
    assert Task.current_task() is None
    assert "from the step" in step.get_reported_console_output()


def test_requirement_controls_adjust_the_recorded_freeze() -> None:
    context = ProcessContext()
    recorded = "numpy==2.0\nrich==13\n"
    assert context.controlled_requirements(recorded) == recorded  # no controls: unchanged
    context.requirements_added["torch"] = "torch==2.3"
    context.requirements_ignored.add("rich")
    assert context.controlled_requirements(recorded).splitlines() == ["numpy==2.0", "torch==2.3"]
    context.requirements_file = "pandas\n"
    assert context.controlled_requirements(recorded).splitlines() == ["pandas", "torch==2.3"]


def test_reset_forgets_the_main_task_session_and_controls(tm_home: Path) -> None:
    context = ProcessContext()
    session = context.session()
    assert context.session() is session  # built once
    context.main_task = Task.create(project_name="p", task_name="main")
    context.requirements_added["x"] = "x"
    context.reset()
    assert context.main_task is None and context.requirements_added == {}
    assert context.session() is not session
    context.reset()


def test_first_artifact_operation_with_a_server_store_does_not_deadlock(tmp_path: Path) -> None:
    """Opening the artifact storage of a server store reads the store: both open lazily on
    first use, in a fresh process (the regression hung forever, hence the subprocess timeout)."""
    import os
    import subprocess
    import sys

    from tests.server.harness import served

    (tmp_path / "README.md").write_text("hello\n")
    with served(f"sqlite:///{tmp_path}/store.db", tmp_path) as server:
        env = {
            **os.environ,
            "TASKMILL_HOME": str(tmp_path / "home"),
            "TASKMILL_STORE": server.url,
        }
        env.pop("TASKMILL_ARTIFACTS", None)
        code = "from taskmill import StorageManager; print(StorageManager.get_local_copy('README.md'))"
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
        )
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip().splitlines()[-1]).read_text() == "hello\n"
