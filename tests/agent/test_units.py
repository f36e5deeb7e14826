"""In-process checks of the agent's parts: requirements, dead-agent reaping, option parsing."""

from __future__ import annotations

import time
from pathlib import Path

from taskmill import Task
from taskmill.agent.environment import requirement_lines, unmet_requirements
from taskmill.agent.reaper import fail_orphaned_tasks, reap_dead_workers
from taskmill.agent.run_task import main as run_task_main
from taskmill.agent.venvs import VenvCache, taskmill_requirement
from taskmill.cli.agent import with_services_default
from taskmill.core.states import TaskStatus
from taskmill.store.base import TaskStore

ROOT = Path(__file__).resolve().parents[2]


def test_dead_agent_tasks_fail_and_orphans_of_a_restarted_id(store: TaskStore) -> None:
    store.create_queue("q")
    ids = [Task.create(project_name="agent-tests", task_name=f"t{i}").id for i in range(3)]
    for task_id in ids:
        store.enqueue(task_id, "q")
    store.register_worker("gone", ["q"], {})
    store.register_worker("alive", ["q"], {})
    assert store.claim(["q"], "gone") is not None
    assert store.claim(["q"], "alive") is not None
    assert store.claim(["q"], "me") is not None
    now = time.time()
    assert reap_dead_workers(store, me="alive", dead_after=10, now=now + 5) == []
    assert reap_dead_workers(store, me="alive", dead_after=10, now=now + 60) == ["gone"]
    assert [w.id for w in store.list_workers()] == ["alive"]  # never reaps itself
    gone = store.get_task(ids[0])
    assert gone.status == TaskStatus.failed and gone.status_message.startswith(
        "agent gone stopped sending heartbeats"
    )
    assert store.get_task(ids[1]).status == TaskStatus.in_progress
    assert fail_orphaned_tasks(store, "me") == [ids[2]]
    assert store.get_task(ids[2]).status_message == "agent me restarted while running this task"
    assert any("stopped sending heartbeats" in line.text for line in store.get_log(ids[0]))


def test_requirements_compared_with_the_agents_environment() -> None:
    installed = {"numpy": "2.0.0", "tm-pkg": "1.0"}
    text = """
        # a comment
        numpy==2.0.0
        NumPy >= 1.0 ; python_version > "3"
        tm_pkg==1.0  # inline comment
        taskmill==9.9
        pip==1.0
        --extra-index-url https://example.invalid/simple
    """
    lines = requirement_lines(text)
    assert "taskmill==9.9" not in lines and "pip==1.0" not in lines
    assert unmet_requirements(lines, installed) == []
    assert unmet_requirements(["numpy==1.26.4", "pandas", "tm-pkg @ file:///x.whl"], installed) == [
        "numpy==1.26.4",
        "pandas",
    ]
    assert unmet_requirements(["-e ./local", "./path/to/pkg"], installed) == ["-e ./local", "./path/to/pkg"]


def test_venv_key_ignores_order_and_depends_on_taskmills_source(tmp_path: Path) -> None:
    cache = VenvCache(tmp_path, ["-e", "/src/a"])
    assert cache.key(["a==1", "b==2"]) == cache.key(["b==2", "a==1", "a==1"])
    assert cache.key(["a==1"]) != cache.key(["a==2"])
    assert cache.key(["a==1"]) != VenvCache(tmp_path, ["taskmill==0.1.0"]).key(["a==1"])
    assert cache.path(["a==1"]).parent == tmp_path / "venvs"


def test_venvs_install_the_taskmill_the_agent_runs() -> None:
    assert taskmill_requirement() == ["-e", str(ROOT)]  # the development install is editable


def test_services_mode_takes_an_optional_number() -> None:
    assert with_services_default(["-q", "s", "--services-mode"]) == ["-q", "s", "--services-mode", "8"]
    assert with_services_default(["--services-mode", "--burst"]) == ["--services-mode", "8", "--burst"]
    assert with_services_default(["--services-mode", "3", "--burst"]) == ["--services-mode", "3", "--burst"]


def test_task_entry_point_usage() -> None:
    assert run_task_main(["nonsense"]) == 2
