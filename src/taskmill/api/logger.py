"""``Logger``: report scalars, text, tables and charts on a task (ClearML's ``task.get_logger()``)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from taskmill.core.model import PlotRecord, ScalarPoint

if TYPE_CHECKING:
    from taskmill.api.task import Task

_LEVELS = {
    logging.DEBUG: "debug",
    logging.INFO: "info",
    logging.WARNING: "warning",
    logging.ERROR: "error",
    logging.CRITICAL: "critical",
}


class Logger:
    """Reports on one task. Scalars and text are buffered and written in the background;
    tables and charts are written at once. ``task.flush()`` forces pending reports out."""

    def __init__(self, task: Task) -> None:
        self._task = task

    @classmethod
    def current_logger(cls) -> Logger:
        """The logger of the process's main task (``Task.init`` must have run)."""
        from taskmill.api.task import Task

        task = Task.current_task()
        if task is None:
            raise ValueError("no current task: call Task.init(...) before Logger.current_logger()")
        return task.get_logger()

    def report_scalar(self, title: str, series: str, value: float, iteration: int = 0) -> None:
        """Record ``value`` of ``title/series`` at ``iteration``."""
        self._task._reporter().scalar(ScalarPoint(str(title), str(series), int(iteration), float(value)))

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

    def flush(self, wait: bool = True) -> bool:
        """Write pending reports now."""
        self._task._reporter().flush()
        return True


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
