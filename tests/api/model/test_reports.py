"""Reports on models land on the owning task, titled with the model's name."""

from __future__ import annotations

from pathlib import Path

from taskmill import Model, Task
from tests.api.model.conftest import trained


def test_model_reports_are_recorded_on_the_owning_task(tmp_path: Path) -> None:
    model = trained("p", "net", tmp_path)
    handle = Model(model.id)
    handle.report_scalar("loss", "val", 0.5, 3)
    model.report_single_value("accuracy", 0.75)
    handle.report_table("preview", "head", table_plot=[["a", "b"], [1, 2]])
    handle.report_confusion_matrix("cm", "s", [[1, 0], [0, 1]], 1, xlabels=["x", "y"])
    handle.report_matrix("cm2", "s", [[1, 0], [0, 1]])
    handle.report_vector("v", "s", [1, 2])
    handle.report_histogram("h", "s", [1, 2])
    handle.report_line_plot("lines", [_line()], "x", "y")
    handle.report_scatter2d("sc", "s", [[0, 1], [1, 2]])
    handle.report_scatter3d("sc3", "s", [[0, 1, 2]])
    handle.report_surface("surf", "s", [[0, 1], [1, 0]])
    owner = Task.get_task(task_id=model.task)
    scalars = owner.get_reported_scalars()
    assert scalars["net: loss"]["val"] == {"x": [3], "y": [0.5]}
    assert scalars["net: Summary"]["accuracy"]["y"] == [0.75]
    titles = {p["title"] for p in owner.get_reported_plots()}
    assert titles == {f"net: {t}" for t in ("preview", "cm", "cm2", "v", "h", "lines", "sc", "sc3", "surf")}


def _line() -> object:
    from taskmill import Logger

    return Logger.SeriesInfo(name="a", data=[[0, 1], [1, 2]])
