"""Every pipeline example in ``examples/`` in remote mode (issue 13 item 2), as a team runs it: a
real ``taskmill server`` process, a ``services`` agent for the controllers and a ``default`` agent
for the steps, each example launched with ``--mode remote`` from the repository root."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from taskmill.core.states import TaskStatus
from taskmill.store.base import TaskFilter
from taskmill.store.http import HttpTaskStore

ROOT = Path(__file__).resolve().parents[2]

#: every example that takes ``--mode`` (examples/_mode.py), with its run's project
EXAMPLES = {
    "pipeline_from_functions.py": "examples/.pipelines/pipeline from functions",
    "tabular_pipeline.py": "examples/.pipelines/tabular training pipeline",
    "pipeline_from_decorator.py": "examples/.pipelines/pipeline from decorator",
    "decorated_tabular_pipeline.py": None,
    "decorated_step_functions.py": None,
}


def test_every_example_runs_in_remote_mode(team: tuple[dict[str, str], HttpTaskStore]) -> None:
    env, store = team
    for script in EXAMPLES:
        launched = subprocess.run(
            [sys.executable, f"examples/{script}", "--mode", "remote"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert launched.returncode == 0, script + launched.stdout + launched.stderr
        assert "goes to queue 'services'" in launched.stdout, script + launched.stdout
    runs = list(store.find_tasks(TaskFilter(system_tags=("pipeline",))))
    runs = [r for r in runs if r.parent is None]
    assert len(runs) == len(EXAMPLES)
    deadline = time.monotonic() + 150
    while not all(store.get_task(r.id).status.is_final for r in runs):
        assert time.monotonic() < deadline, "remote example runs did not end in time"
        time.sleep(0.5)
    failed = {}
    for r in runs:
        final = store.get_task(r.id)
        if final.status != TaskStatus.completed:
            log = "\n".join(line.text for line in store.get_log(r.id))
            failed[final.name] = f"{final.status_message}\n{log[-1500:]}"
    assert not failed, failed
    for script, project in EXAMPLES.items():
        if project is None:
            continue
        (run,) = [r for r in runs if r.project == project]
        nodes = dict(store.get_nodes(run.id))
        assert nodes and {n["status"] for n in nodes.values()} == {"completed"}, script
        workers = {store.get_task(str(n["job_id"])).worker for n in nodes.values()}
        assert workers == {"agent-default"}, script  # steps ran on the default agent
