"""Reports on a model (ClearML's ``model.report_*``): recorded on the task that owns the model.

taskmill keeps reports on tasks, so a model's scalars, tables and charts are reports of its owning
task whose title is prefixed with the model (``"<model name>: <title>"``; series unchanged), which
keeps them apart from the task's own. Scalars are written before the call returns (no background
buffer), like every other report here: blocking.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from taskmill.api.logger import Logger
from taskmill.api.model.managed import ManagedModel
from taskmill.api.reporter import Reporter
from taskmill.api.session import Session
from taskmill.store.base import TaskStore


class _Owner:
    """The owning task, as much of it as a ``Logger`` uses (a ``TaskLike``)."""

    def __init__(self, session: Session, task_id: str) -> None:
        self._session = session
        self._id = task_id
        self._rep = Reporter(session.store, task_id)

    @property
    def id(self) -> str:
        return self._id

    @property
    def name(self) -> str:
        return self._session.store.get_task(self._id).name

    @property
    def output_uri(self) -> str:
        return self._session.store.get_task(self._id).output_uri or self._session.settings.artifacts_uri

    def _store(self) -> TaskStore:
        return self._session.store

    def _reporter(self) -> Reporter:
        return self._rep

    def _console_captured(self) -> bool:
        return False


class ModelReports(ManagedModel):
    """``report_*`` methods of the model classes (see the module docstring)."""

    def _report(self, method: str, title: str, *args: Any, **kwargs: Any) -> None:
        owner = _Owner(self._session, self._task_id)
        getattr(Logger(owner), method)(f"{self.name}: {title}", *args, **kwargs)
        owner._reporter().close()  # scalars: written now, and no thread left behind

    def report_scalar(self, title: str, series: str, value: float, iteration: int) -> None:
        """Record ``value`` of ``title/series`` at ``iteration`` for this model."""
        self._report("report_scalar", title, series, value, iteration)

    def report_single_value(self, name: str, value: float) -> None:
        """Record a summary value of this model (scalar ``<model>: Summary/<name>``)."""
        self._report("report_scalar", "Summary", name, value, 0)

    def report_table(
        self,
        title: str,
        series: str,
        iteration: int | None = None,
        table_plot: Any = None,
        csv: str | None = None,
        url: str | None = None,
        extra_layout: Mapping[str, Any] | None = None,
    ) -> None:
        """Record a table for this model (see ``Logger.report_table``)."""
        self._report("report_table", title, series, iteration, table_plot, csv, url, extra_layout)

    def report_line_plot(
        self,
        title: str,
        series: Sequence[Any],
        xaxis: str,
        yaxis: str,
        mode: str = "lines",
        iteration: int | None = None,
        reverse_xaxis: bool = False,
        comment: str | None = None,
        extra_layout: Mapping[str, Any] | None = None,
    ) -> None:
        """Record line series for this model (see ``Logger.report_line_plot``)."""
        self._report(
            "report_line_plot",
            title,
            series,
            xaxis,
            yaxis,
            mode=mode,
            iteration=iteration,
            reverse_xaxis=reverse_xaxis,
            comment=comment,
            extra_layout=extra_layout,
        )

    def report_histogram(
        self,
        title: str,
        series: str,
        values: Any,
        iteration: int | None = None,
        labels: Sequence[str] | None = None,
        xlabels: Sequence[str] | None = None,
        xaxis: str | None = None,
        yaxis: str | None = None,
        mode: str | None = None,
        data_args: Mapping[str, Any] | None = None,
        extra_layout: Mapping[str, Any] | None = None,
    ) -> None:
        """Record a histogram for this model (see ``Logger.report_histogram``)."""
        self._report(
            "report_histogram", title, series, values, iteration, labels, xlabels, xaxis, yaxis, mode
        )

    def report_vector(
        self,
        title: str,
        series: str,
        values: Any,
        iteration: int | None = None,
        labels: Sequence[str] | None = None,
        xlabels: Sequence[str] | None = None,
        xaxis: str | None = None,
        yaxis: str | None = None,
        mode: str | None = None,
        extra_layout: Mapping[str, Any] | None = None,
    ) -> None:
        """ClearML's deprecated name of ``report_histogram``."""
        self._report(
            "report_histogram", title, series, values, iteration, labels, xlabels, xaxis, yaxis, mode
        )

    def report_scatter2d(
        self,
        title: str,
        series: str,
        scatter: Any,
        iteration: int | None = None,
        xaxis: str | None = None,
        yaxis: str | None = None,
        labels: Sequence[str] | None = None,
        mode: str = "line",
        comment: str | None = None,
        extra_layout: Mapping[str, Any] | None = None,
    ) -> None:
        """Record 2-D points for this model (see ``Logger.report_scatter2d``)."""
        self._report(
            "report_scatter2d",
            title,
            series,
            scatter,
            iteration=iteration,
            xaxis=xaxis,
            yaxis=yaxis,
            labels=labels,
            mode=mode,
            comment=comment,
            extra_layout=extra_layout,
        )

    def report_scatter3d(
        self,
        title: str,
        series: str,
        scatter: Any,
        iteration: int | None = None,
        xaxis: str | None = None,
        yaxis: str | None = None,
        zaxis: str | None = None,
        labels: Sequence[str] | None = None,
        mode: str = "markers",
        fill: bool = False,
        comment: str | None = None,
        extra_layout: Mapping[str, Any] | None = None,
    ) -> None:
        """Record 3-D points for this model (see ``Logger.report_scatter3d``)."""
        self._report(
            "report_scatter3d",
            title,
            series,
            scatter,
            iteration=iteration,
            xaxis=xaxis,
            yaxis=yaxis,
            zaxis=zaxis,
            labels=labels,
            mode=mode,
            fill=fill,
            comment=comment,
            extra_layout=extra_layout,
        )

    def report_surface(
        self,
        title: str,
        series: str,
        matrix: Any,
        iteration: int | None = None,
        xaxis: str | None = None,
        yaxis: str | None = None,
        zaxis: str | None = None,
        xlabels: Sequence[str] | None = None,
        ylabels: Sequence[str] | None = None,
        camera: Sequence[float] | None = None,
        comment: str | None = None,
        extra_layout: Mapping[str, Any] | None = None,
    ) -> None:
        """Record a surface for this model (see ``Logger.report_surface``)."""
        self._report(
            "report_surface",
            title,
            series,
            matrix,
            iteration=iteration,
            xaxis=xaxis,
            yaxis=yaxis,
            zaxis=zaxis,
            xlabels=xlabels,
            ylabels=ylabels,
            camera=camera,
            comment=comment,
            extra_layout=extra_layout,
        )

    def report_confusion_matrix(
        self,
        title: str,
        series: str,
        matrix: Any,
        iteration: int | None = None,
        xaxis: str | None = None,
        yaxis: str | None = None,
        xlabels: Sequence[str] | None = None,
        ylabels: Sequence[str] | None = None,
        yaxis_reversed: bool = False,
        comment: str | None = None,
        extra_layout: Mapping[str, Any] | None = None,
    ) -> None:
        """Record a confusion matrix for this model (see ``Logger.report_confusion_matrix``)."""
        self._report(
            "report_confusion_matrix",
            title,
            series,
            matrix,
            iteration,
            xaxis,
            yaxis,
            xlabels,
            ylabels,
            yaxis_reversed,
        )

    def report_matrix(
        self,
        title: str,
        series: str,
        matrix: Any,
        iteration: int | None = None,
        xaxis: str | None = None,
        yaxis: str | None = None,
        xlabels: Sequence[str] | None = None,
        ylabels: Sequence[str] | None = None,
        yaxis_reversed: bool = False,
        extra_layout: Mapping[str, Any] | None = None,
    ) -> None:
        """ClearML's deprecated name of ``report_confusion_matrix``."""
        self._report(
            "report_confusion_matrix",
            title,
            series,
            matrix,
            iteration,
            xaxis,
            yaxis,
            xlabels,
            ylabels,
            yaxis_reversed,
        )
