"""Task.init, current_task, execute_remotely and attaching under an agent (real interpreters)."""

from __future__ import annotations

from pathlib import Path

from taskmill import Task
from taskmill.core.states import TaskStatus

from ..conftest import RunScript


def only_task(project: str = "demo") -> Task:
    (task,) = Task.get_tasks(project_name=project)
    return task


def test_attach_under_agent_uses_stored_values(run_script: RunScript, tm_home: Path) -> None:
    draft = Task.create(project_name="demo", task_name="remote")
    draft.set_parameters({"General/epochs": 7, "Args/lr": 0.01})
    draft.set_configuration_object("model", config_dict={"layers": [1]})
    proc = run_script(
        """
        import argparse
        from taskmill import Task
        task = Task.init(project_name="ignored", task_name="ignored")
        assert not Task.running_locally()
        p = argparse.ArgumentParser(); p.add_argument("--lr", type=float, default=0.1)
        args = p.parse_args()
        cfg = task.connect({"epochs": 3, "batch": 32})
        model = task.connect_configuration({"layers": [9, 9]}, name="model")
        print("RESULT", task.id, cfg["epochs"], cfg["batch"], args.lr, model["layers"])
        assert task.execute_remotely(queue_name="default") is None  # no-op under an agent
        print("still running")
        """,
        env={"TASKMILL_TASK_ID": draft.id},
    )
    assert proc.returncode == 0, proc.stderr
    assert f"RESULT {draft.id} 7 32 0.01 [1]" in proc.stdout
    assert "still running" in proc.stdout
    assert draft.status == "completed"
    assert draft.get_parameters()["General/batch"] == 32  # new keys are recorded


def test_execute_remotely_enqueues_and_exits(run_script: RunScript) -> None:
    Task.init  # noqa: B018 - the API is importable before any store exists
    from taskmill.api.session import PROCESS

    PROCESS.session().store.create_queue("gpu")
    proc = run_script(
        """
        from taskmill import Task
        task = Task.init(project_name="demo", task_name="handoff")
        task.connect({"x": 1})
        task.execute_remotely(queue_name="gpu")
        print("SHOULD NOT PRINT")
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert "SHOULD NOT PRINT" not in proc.stdout
    task = only_task()
    assert task.status == TaskStatus.queued.value
    assert task.data.queue == "gpu"


def test_init_twice_returns_same_task(run_script: RunScript) -> None:
    proc = run_script(
        """
        from taskmill import Task
        a = Task.init(project_name="demo", task_name="one")
        b = Task.init(project_name="demo", task_name="two")
        assert a is b and Task.current_task() is a
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert only_task().name == "one"


def test_delete_removes_the_task(tm_home: Path) -> None:
    t = Task.create(project_name="p", task_name="x")
    t.upload_artifact("a", [1])
    assert t.delete()
    assert Task.get_tasks(project_name="p") == []
