"""Notebooks, run in a real Jupyter kernel (nbclient + ipykernel): the notebook's code is the
task's script, and ``start()`` in remote mode returns instead of ending the kernel."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from taskmill.core.states import TaskStatus
from taskmill.store.base import TaskFilter, TaskStore
from tests.agent.conftest import Agents, log_text, record, wait_for

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")


def run_notebook(folder: Path, *cells: str) -> list[str]:
    """Execute a notebook of ``cells`` in a fresh kernel started in ``folder``; the cells' outputs."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    client = nbclient.NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    )
    client.execute()
    outputs: list[str] = []
    for cell in notebook.cells:
        outputs.append("".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream"))
    return outputs


@pytest.fixture
def agents(tm_home: Path, tmp_path: Path, store: TaskStore) -> Iterator[Agents]:
    store.create_queue("default")
    helper = Agents(tm_home, store, tmp_path / "agent-logs")
    yield helper
    helper.stop_all()


def test_a_notebook_records_its_code_as_the_tasks_script(tmp_path: Path, store: TaskStore) -> None:
    outputs = run_notebook(
        tmp_path,
        "from taskmill import Task\ntask = Task.init(project_name='nb', task_name='nb train')",
        "%matplotlib inline\nloss = 0.25\ntask.get_logger().report_scalar('loss', 'train', loss, 0)",
        "print('id', task.id)",
    )
    task_id = outputs[2].split()[-1]
    task = record(store, task_id)
    assert [p.value for p in store.get_scalars(task_id)] == [0.25]
    script = task.script
    assert script.working_dir == str(tmp_path) and not script.repository
    assert (
        script.entry_point.startswith(".taskmill-notebooks/notebook-")
        and "ipykernel" not in script.entry_point
    )
    code = (tmp_path / script.entry_point).read_text()
    assert "Task.init(project_name='nb', task_name='nb train')" in code
    assert "report_scalar('loss', 'train', loss, 0)" in code  # a cell after Task.init
    assert "# get_ipython().run_line_magic('matplotlib', 'inline')  # needs a Jupyter kernel" in code
    assert "numpy==" in script.requirements or "taskmill" in script.requirements.lower()

    # the recorded code runs as a plain script: a new task with the same scalar
    rerun = subprocess.run(
        [sys.executable, script.entry_point],
        cwd=script.working_dir,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert rerun.returncode == 0, rerun.stderr
    again = [t for t in store.find_tasks(TaskFilter(project="nb")) if t.id != task_id]
    assert len(again) == 1 and [p.value for p in store.get_scalars(again[0].id)] == [0.25]


PIPELINE_CELLS = (
    "from taskmill import PipelineController\n\n"
    "def make(n: int) -> list:\n    print('making', n)\n    return list(range(n))\n\n"
    "def total(values: list) -> int:\n    return sum(values)",
    "pipe = PipelineController(name='notebook remote', project='nb', version='1.0')\n"
    "pipe.add_parameter('n', 4)\n"
    "pipe.set_default_execution_queue('default')\n"
    "pipe.add_function_step('make', make, function_kwargs={'n': '${pipeline.n}'}, "
    "function_return=['values'])\n"
    "pipe.add_function_step('total', total, function_kwargs={'values': '${make.values}'}, "
    "function_return='result')\n"
    "pipe.start(queue='services')",
    "print('the kernel goes on')",
)


def test_start_in_remote_mode_returns_and_agents_run_the_recorded_code(
    tmp_path: Path, agents: Agents, store: TaskStore
) -> None:
    store.create_queue("services")
    outputs = run_notebook(tmp_path, *PIPELINE_CELLS)
    assert outputs[2] == "the kernel goes on\n"  # start() returned: no SystemExit
    assert "goes to queue 'services'" in outputs[1]
    (run,) = store.find_tasks(TaskFilter(system_tags=("pipeline",)))
    assert run.status == TaskStatus.queued and run.queue == "services"
    code = (tmp_path / run.script.entry_point).read_text()
    assert "pipe.start(queue='services')" in code and "def make(n: int)" in code

    services = agents.start("-q", "services", "--services-mode", "--id", "services-agent", name="services")
    steps = agents.start("-q", "default", "--id", "steps-agent", name="steps")
    wait_for(lambda: record(store, run.id).status.is_final, 120, "the remote run to end")
    final = record(store, run.id)
    assert final.status == TaskStatus.completed, log_text(store, run.id) + agents.output(services)
    by_name = {t.name: t for t in store.find_tasks(TaskFilter(parent=run.id))}
    assert "making 4" in log_text(store, by_name["make"].id)
    assert steps.poll() is None
