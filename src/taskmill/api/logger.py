"""``Logger``: report scalars, text, tables and charts on a task (ClearML's ``task.get_logger()``)."""

from __future__ import annotations

import io
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from taskmill.api import figures
from taskmill.api.logger_options import LoggerOptions
from taskmill.api.session import PROCESS, TaskLike
from taskmill.core.model import PlotRecord, ScalarPoint
from taskmill.types import JSONValue

_LEVELS = MappingProxyType(
    {
        logging.DEBUG: "debug",
        logging.INFO: "info",
        logging.WARNING: "warning",
        logging.ERROR: "error",
        logging.CRITICAL: "critical",
    }
)


class Logger(LoggerOptions):
    """Reports on one task. Scalars and text are buffered and written in the background;
    tables, charts, images and media are written at once. ``task.flush()`` forces pending reports out."""

    SeriesInfo = figures.SeriesInfo

    def __init__(
        self,
        task: TaskLike | None = None,
        connect_stdout: bool = True,
        connect_stderr: bool = True,
        connect_logging: bool = False,
        private_task: TaskLike | None = None,
    ) -> None:
        """The logger of ``task`` (ClearML's ``private_task``; default: the current task). What
        the console capture covers is ``Task.init(auto_connect_streams=...)``'s business: the
        ``connect_*`` flags are accepted and ignored."""
        owner = (
            task if task is not None else private_task if private_task is not None else PROCESS.current_task()
        )
        if owner is None:
            raise ValueError("Logger needs a task: call Task.init(...) first, or use task.get_logger()")
        self._task = owner

    @classmethod
    def current_logger(cls) -> Logger:
        """The logger of the current task (``Task.current_task()``; ``Task.init`` must have run)."""
        task = PROCESS.current_task()
        if task is None:
            raise ValueError("no current task: call Task.init(...) before Logger.current_logger()")
        return Logger(task)  # what task.get_logger() returns

    def report_scalar(self, title: str, series: str, value: float, iteration: int = 0) -> None:
        """Record ``value`` of ``title/series`` at ``iteration``."""
        number = self._reportable(str(title), str(series), float(value))
        self._task._reporter().scalar(ScalarPoint(str(title), str(series), int(iteration), number))

    def report_single_value(self, name: str, value: float) -> None:
        """Record a summary value (stored as scalar ``Summary/<name>`` at iteration 0)."""
        self.report_scalar("Summary", name, value, 0)

    def report_text(self, msg: str, level: int = logging.INFO, print_console: bool = True, **_: Any) -> None:
        """Add ``msg`` to the console log (and print it when ``print_console``)."""
        if print_console:
            print(msg, file=sys.stdout)  # noqa: T201 - ClearML prints reported text
            if self._task._console_captured():
                return  # the console tee already recorded it
        self._task._reporter().log(str(msg), _LEVELS.get(level, "info"))

    def report_table(
        self,
        title: str,
        series: str,
        iteration: int | None = None,
        table_plot: Any = None,
        csv: str | None = None,
        url: str | None = None,
        extra_layout: Mapping[str, Any] | None = None,
        extra_data: Mapping[str, Any] | None = None,
    ) -> None:
        """Record a table: a pandas DataFrame, a list of rows (first row = header), or a CSV file/URL."""
        data = _table_data(table_plot, csv or url)
        self._task._store().add_plot(
            self._task.id, PlotRecord(title, series, int(iteration or 0), "table", data)
        )

    def report_plotly(self, title: str, series: str, figure: Any, iteration: int | None = None) -> None:
        """Record a Plotly figure (a dict, or an object with ``to_dict()``)."""
        fig = figure.to_dict() if hasattr(figure, "to_dict") else dict(figure)
        self._task._store().add_plot(
            self._task.id, PlotRecord(title, series, int(iteration or 0), "plotly", fig)
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
        """Record pre-computed histogram ``values`` (1-D, or 2-D with a row per ``labels`` item) as
        Plotly bar traces; bars at ``xlabels`` or 0..n-1. Blocking."""
        fig = figures.histogram(str(title), str(series), values, labels, xlabels, xaxis, yaxis, mode)
        self._add(title, series, iteration, "plotly", fig)

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
        """Record lines, one per ``SeriesInfo`` (or dict) of ``series`` with ``N x 2`` ``data``, as
        Plotly scatter traces. Blocking."""
        infos = [figures.series_info(s) for s in series]
        fig = figures.scatter2d(str(title), infos, xaxis, yaxis, mode, reverse_xaxis)
        self._add(title, infos[0].name if infos else "", iteration, "plotly", fig)

    def report_scatter2d(
        self,
        title: str,
        series: str,
        scatter: Any,
        iteration: int | None = None,
        xaxis: str | None = None,
        yaxis: str | None = None,
        labels: Sequence[str] | None = None,
        mode: str = "lines",
        comment: str | None = None,
        extra_layout: Mapping[str, Any] | None = None,
    ) -> None:
        """Record ``scatter`` (``(x, y)`` pairs or an ``N x 2`` array; ``labels`` per point) as a
        Plotly scatter trace. Blocking."""
        info = figures.SeriesInfo(str(series), scatter, labels)
        self._add(
            title, series, iteration, "plotly", figures.scatter2d(str(title), [info], xaxis, yaxis, mode)
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
        """Record ``(x, y, z)`` points (or a list of such series) as Plotly scatter3d traces. Blocking."""
        fig = figures.scatter3d(str(title), str(series), scatter, (xaxis, yaxis, zaxis), labels, mode)
        self._add(title, series, iteration, "plotly", fig)

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
        """Record ``matrix`` as a Plotly surface trace. Blocking."""
        fig = figures.surface(
            str(title), str(series), matrix, (xaxis, yaxis, zaxis), xlabels, ylabels, camera
        )
        self._add(title, series, iteration, "plotly", fig)

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
        """Record ``matrix`` as a Plotly heatmap trace (``x`` = ``xlabels`` of the columns, ``y`` =
        ``ylabels`` of the rows; row 0 at the top when ``yaxis_reversed``). Blocking."""
        fig = figures.heatmap(str(title), str(series), matrix, xaxis, yaxis, xlabels, ylabels, yaxis_reversed)
        self._add(title, series, iteration, "plotly", fig)

    def report_image(
        self,
        title: str,
        series: str,
        iteration: int | None = None,
        local_path: str | os.PathLike[str] | None = None,
        image: Any = None,
        matrix: Any = None,
        max_image_history: int | None = None,
        delete_after_upload: bool = False,
        url: str | None = None,
    ) -> None:
        """Upload an image as artifact ``debug/<title>/<series>/<iteration>`` and record it (kind
        ``image``). Exactly one source: ``local_path`` (uploaded as-is), ``image`` (PIL image or
        array) or ``matrix`` (array; both encoded as PNG), or ``url`` (recorded as a link only).
        Blocking: the image is stored when this returns."""
        _one_source("report_image", local_path=local_path, image=image, matrix=matrix, url=url)
        if url:
            self._add(title, series, iteration, "image", {"artifact": "", "url": url, "format": _suffix(url)})
        elif local_path:
            self._upload(title, series, iteration, "image", os.fspath(local_path), "", delete_after_upload)
        else:
            png = figures.image_png(matrix if image is None else image)
            self._upload(title, series, iteration, "image", png, "png")

    def report_media(
        self,
        title: str,
        series: str,
        iteration: int | None = None,
        local_path: str | os.PathLike[str] | None = None,
        stream: Any = None,
        file_extension: str | None = None,
        max_history: int | None = None,
        delete_after_upload: bool = False,
        url: str | None = None,
    ) -> None:
        """Upload a media file (audio, video, anything) as artifact ``debug/<title>/<series>/<iteration>``
        and record it (kind ``media``). Exactly one source: ``local_path``, ``stream`` (a binary or text
        stream; needs ``file_extension``) or ``url`` (recorded as a link only). Blocking."""
        _one_source("report_media", local_path=local_path, stream=stream, url=url)
        extension = (file_extension or "").strip().lstrip(".").lower()
        if url:
            link: JSONValue = {"artifact": "", "url": url, "format": extension or _suffix(url)}
            self._add(title, series, iteration, "media", link)
        elif local_path:
            self._upload(
                title, series, iteration, "media", os.fspath(local_path), extension, delete_after_upload
            )
        else:
            if not extension:
                raise ValueError("report_media: a stream needs file_extension (such as 'mp4' or 'wav')")
            data = stream.getvalue() if hasattr(stream, "getvalue") else stream.read()
            payload = data.encode() if isinstance(data, str) else bytes(data)
            self._upload(title, series, iteration, "media", payload, extension)

    def report_matplotlib_figure(
        self,
        title: str,
        series: str,
        figure: Any,
        iteration: int | None = None,
        report_image: bool = False,
        report_interactive: bool = True,
    ) -> None:
        """Record a matplotlib figure (or ``pyplot``) as a PNG image, like :meth:`report_image`
        (there is no interactive version). Blocking."""
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        self._upload(title, series, iteration, "image", buffer.getvalue(), "png")

    def set_default_upload_destination(self, uri: str) -> None:
        """Upload this task's images and media to ``uri`` (a folder or fsspec URL) from now on."""
        PROCESS.upload_destinations[self._task.id] = str(uri)

    def get_default_upload_destination(self) -> str:
        """Where images and media go: the URI set above, else the task's artifact location."""
        return PROCESS.upload_destinations.get(self._task.id) or self._task.output_uri

    def flush(self, wait: bool = True) -> bool:
        """Write pending reports now."""
        self._task._reporter().flush()
        return True

    def _add(self, title: str, series: str, iteration: int | None, kind: str, data: JSONValue) -> None:
        plot = PlotRecord(str(title), str(series), int(iteration or 0), kind, data)
        self._task._store().add_plot(self._task.id, plot)

    def _upload(
        self,
        title: str,
        series: str,
        iteration: int | None,
        kind: str,
        content: str | bytes,
        extension: str,
        delete_after_upload: bool = False,
    ) -> None:
        """Store ``content`` (a file path, or bytes saved as ``.<extension>``) as the task's artifact
        ``debug/<title>/<series>/<iteration>`` and record a plot of ``kind`` pointing at it."""
        name = f"debug/{title}/{series}/{int(iteration or 0)}"
        if isinstance(content, str):
            if not os.path.isfile(content):
                raise FileNotFoundError(f"{kind} file not found: {content}")
            extension = extension or _suffix(content)
            serializer = None
        else:
            serializer = bytes
        record = self._task._session.artifacts.upload(
            self._task.id,
            name,
            content,
            output_uri=self.get_default_upload_destination() or None,
            serialization_function=serializer,
            extension_name=None if isinstance(content, str) or not extension else "." + extension,
        )
        self._task._store().put_artifact(record)
        if delete_after_upload and isinstance(content, str):
            os.unlink(content)
        self._add(title, series, iteration, kind, {"artifact": name, "url": "", "format": extension})


def _one_source(method: str, **sources: Any) -> None:
    """Raise ValueError unless exactly one of ``sources`` is given (None and "" count as missing)."""
    given = [k for k, v in sources.items() if v is not None and not (isinstance(v, str) and not v)]
    if len(given) != 1:
        names = ", ".join(sources)
        got = " and ".join(given) if given else "none"
        raise ValueError(f"{method} needs exactly one of {names}; got {got}")


def _suffix(path: str) -> str:
    """``"a/b.PNG?x=1"`` -> ``"png"``."""
    base = path.split("?", 1)[0].split("#", 1)[0].rsplit("/", 1)[-1]
    return base.rsplit(".", 1)[1].lower() if "." in base else ""


def _table_data(table: Any, csv: str | None) -> dict[str, Any]:
    if table is None and csv:
        import csv as csvmod

        from taskmill.api.storage_manager import StorageManager

        with open(StorageManager.get_local_copy(csv), newline="") as fh:
            rows = list(csvmod.reader(fh))
        table = rows
    if table is None:
        raise ValueError("report_table needs table_plot (a DataFrame or a list of rows) or csv=")
    if hasattr(table, "to_dict") and hasattr(table, "columns"):
        frame = table.reset_index() if getattr(table.index, "name", None) else table
        return {
            "columns": [str(c) for c in frame.columns],
            "rows": [[_plain(v) for v in row] for row in frame.itertuples(index=False, name=None)],
        }
    if isinstance(table, Sequence) and table and isinstance(table[0], Sequence):
        header, *rows = table
        return {"columns": [str(c) for c in header], "rows": [[_plain(v) for v in r] for r in rows]}
    raise ValueError(f"report_table cannot read a table from {type(table).__name__}")


def _plain(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    item = getattr(value, "item", None)
    if callable(item):
        try:
            return item()
        except (TypeError, ValueError):
            pass
    return str(value)
