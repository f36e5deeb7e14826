"""SummaryWriter of torch.utils.tensorboard and tensorboardX report to the task's Logger too."""

from __future__ import annotations

import pytest

from taskmill.api.task import Task
from tests.api.conftest import RunScript

WRITE = """
import numpy as np
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
from taskmill import Task
{import_line}
task = Task.init(project_name="p", task_name="tb", auto_connect_frameworks={{"matplotlib": False}})
writer = SummaryWriter("runs")
for step in range(3):
    writer.add_scalar("loss/train", 1.0 / (step + 1), step)
writer.add_scalar("lr", np.float32(0.5))  # no step: counted per title/series
writer.add_scalar("lr", 0.25)
writer.add_scalars("acc", {{"train": 0.9, "val": 0.8}}, 7)
writer.add_histogram("weights/layer1", np.arange(100, dtype=float), 2, bins=10)
writer.add_image("input", np.ones((3, 4, 5)), 0)
writer.add_image("mask", np.zeros((4, 5)), 0, dataformats="HW")
writer.add_images("batch", np.ones((2, 3, 4, 5)), 1)
figure = plt.figure()
plt.plot([1, 2])
writer.add_figure("curves/fig", figure, 3)
writer.add_text("note", "hello", 0)
writer.close()
print("OK")
"""


def check(task: Task) -> None:
    scalars = {(s.title, s.series, s.iteration): s.value for s in task._store().get_scalars(task.id)}
    assert scalars[("loss", "train", 2)] == pytest.approx(1 / 3)
    assert scalars[("lr", "lr", 0)] == 0.5 and scalars[("lr", "lr", 1)] == 0.25
    assert scalars[("acc", "train", 7)] == pytest.approx(0.9) and scalars[("acc", "val", 7)] == pytest.approx(
        0.8
    )
    plots = {(p.title, p.series, p.iteration): p for p in task._store().get_plots(task.id)}
    histogram = plots[("weights", "layer1", 2)]
    assert histogram.kind == "plotly"
    (trace,) = histogram.data["data"]  # type: ignore[index,call-overload]
    assert sum(trace["y"]) == 100 and len(trace["y"]) == 10
    kinds = {key: p.kind for key, p in plots.items()}
    assert kinds[("input", "input", 0)] == "image" and kinds[("mask", "mask", 0)] == "image"
    assert kinds[("batch", "batch", 1)] == "image" and kinds[("curves", "fig", 3)] == "image"
    assert any("note: hello" in line for line in task.get_reported_console_output())


def test_torch_summary_writer(run_script: RunScript) -> None:
    pytest.importorskip("torch.utils.tensorboard")
    proc = run_script(WRITE.format(import_line="from torch.utils.tensorboard import SummaryWriter"))
    assert proc.returncode == 0, proc.stderr
    (task,) = Task.get_tasks()
    check(task)


def test_tensorboardx_summary_writer(run_script: RunScript) -> None:
    pytest.importorskip("tensorboardX")
    proc = run_script(WRITE.format(import_line="from tensorboardX import SummaryWriter"))
    assert proc.returncode == 0, proc.stderr
    (task,) = Task.get_tasks()
    check(task)
