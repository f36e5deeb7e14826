"""Statuses read as ClearML's plain strings wherever a user prints them (issue 12 item 5):
``print(node.status)``, a dict of statuses, an f-string, ``Task.get_status()``."""

from __future__ import annotations

from pathlib import Path

from .test_processes import run_script, write


def test_printed_statuses_are_plain_strings(tm_home: Path, tmp_path: Path) -> None:
    script = write(
        tmp_path / "pipe.py",
        """
        from taskmill import PipelineController, Task

        def one():
            return 1

        pipe = PipelineController(name="statuses", project="t")
        pipe.add_function_step("one", one, function_return=["x"])
        pipe.start_locally(run_pipeline_steps_locally=True)
        node = pipe.get_pipeline_dag()["one"]
        print("NODE", node.status)
        print("DICT", {n: v.status for n, v in pipe.get_pipeline_dag().items()})
        print("FMT", f"{node.status}|{node.status:>10}")
        task = Task.get_task(task_id=node.executed)
        print("TASK", task.status, [task.get_status()], repr(task.data.status))
        print("EQ", node.status == "completed", task.data.status == "completed")
        """,
    )
    out = run_script(script, tm_home).stdout
    assert "NODE completed\n" in out
    assert "DICT {'one': 'completed'}\n" in out
    assert "FMT completed| completed\n" in out
    assert "TASK completed ['completed'] 'completed'\n" in out
    assert "EQ True True\n" in out
