"""matplotlib savefig and plt.show() become image plots of the task (Agg backend)."""

from __future__ import annotations

import pytest

from taskmill.api.task import Task
from tests.api.conftest import RunScript

pytest.importorskip("matplotlib")


def test_savefig_and_show_are_plots_once_each(run_script: RunScript) -> None:
    proc = run_script(
        """
        import io
        import matplotlib.pyplot as plt
        from taskmill import Task
        task = Task.init(project_name="p", task_name="plots")
        plt.plot([1, 2, 3])
        plt.title("loss curve")
        plt.savefig("curve.png")
        plt.show()  # unchanged since savefig: not again
        plt.plot([3, 2, 1])
        plt.show()  # changed: a new iteration of the same title
        fig, ax = plt.subplots()
        fig.suptitle("grid")
        ax.imshow([[0, 1], [1, 0]])
        fig.savefig(io.BytesIO(), format="png")
        plt.figure()
        plt.plot([0, 1])
        plt.show()
        print("OK")
        """,
        env={"MPLBACKEND": "Agg"},
    )
    assert proc.returncode == 0, proc.stderr
    (task,) = Task.get_tasks()
    plots = sorted((p.title, p.series, p.iteration, p.kind) for p in task._store().get_plots(task.id))
    assert plots == [
        ("Figure 3", "plot", 0, "image"),
        ("grid", "plot", 0, "image"),
        ("loss curve", "plot", 0, "image"),
        ("loss curve", "plot", 1, "image"),
    ]
    images = [a.name for a in task._store().get_artifacts(task.id) if a.name.startswith("debug/")]
    assert sorted(images)[0] == "debug/Figure 3/plot/0" and len(images) == 4


def test_matplotlib_switched_off(run_script: RunScript) -> None:
    proc = run_script(
        """
        import matplotlib.pyplot as plt
        from taskmill import Task
        task = Task.init(project_name="p", task_name="plots", auto_connect_frameworks={"matplotlib": False})
        plt.plot([1])
        plt.savefig("x.png")
        plt.show()
        assert not hasattr(plt.show, "__taskmill_wrapped__")
        print("OK")
        """,
        env={"MPLBACKEND": "Agg"},
    )
    assert proc.returncode == 0, proc.stderr
    (task,) = Task.get_tasks()
    assert task._store().get_plots(task.id) == []
