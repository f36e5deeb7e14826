"""Draft steps (ClearML's draft=True) in queue mode: the step's task waits as a draft until someone
enqueues it; an agent then runs it and the pipeline carries on."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from taskmill.store.base import TaskStore

TASKMILL = str(Path(sys.executable).parent / "taskmill")

SCRIPT = """
from taskmill import PipelineController

def review(x):
    return x * 2

pipe = PipelineController(name="drafty", project="tests")
pipe.add_function_step("review", review, function_kwargs={"x": 21}, function_return="y", draft=True,
                       execution_queue="default")
pipe.start_locally()
print("DONE", pipe.id, pipe.is_successful())
"""


def test_draft_step_waits_for_a_manual_enqueue(tm_home: Path, tmp_path: Path, store: TaskStore) -> None:
    store.create_queue("default")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKMILL_")}
    env["TASKMILL_HOME"] = str(tm_home)
    script = tmp_path / "drafty.py"
    script.write_text(textwrap.dedent(SCRIPT))
    controller = subprocess.Popen(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.time() + 60
        job_id = ""
        while time.time() < deadline and not job_id:
            for run in store.find_tasks():
                node = dict(store.get_nodes(run.id)).get("review")
                if node and node.get("job_id"):
                    job_id = str(node["job_id"])
            time.sleep(0.1)
        assert job_id, "the draft step's task never appeared"
        time.sleep(0.5)
        assert store.get_task(job_id).status.value == "created"  # waits as a draft: nobody runs it
        enqueued = subprocess.run(
            [TASKMILL, "queues", "enqueue", job_id, "--queue", "default"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert enqueued.returncode == 0, enqueued.stderr
        agent = subprocess.run(
            [TASKMILL, "agent", "--queue", "default", "--burst"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert agent.returncode == 0, agent.stdout + agent.stderr
        out, _ = controller.communicate(timeout=60)
    finally:
        if controller.poll() is None:
            controller.kill()
    assert "True" in out.split("DONE")[-1], out
    assert store.get_param_dict(job_id)["return/y"] == 42
