"""``Logger`` settings and ClearML's deprecated aliases: flush period, NaN/Inf replacement,
debug-sample history, capturing ``logging`` records, and the report methods kept by old names.

:class:`LoggerOptions` is the base of :class:`~taskmill.api.logger.Logger`. Settings ClearML keeps
per process (NaN/Inf replacement, matplotlib and TensorBoard switches) are held by the process
context; per-task ones (debug-sample history) by the context keyed by task id, so every logger
of a task sees them.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from taskmill.api.session import PROCESS, TaskLike

_log = logging.getLogger("taskmill.api.logger")


class _TaskLogHandler(logging.Handler):
    """Copies ``logging`` records into a task's console log."""

    def __init__(self, task: TaskLike) -> None:
        super().__init__()
        self._task = task

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level = record.levelname.lower()
            self._task._reporter().log(self.format(record), level if level != "warn" else "warning")
        except Exception:  # a logging handler must never raise into the caller
            self.handleError(record)


class LoggerOptions:
    """Settings and deprecated aliases of ``Logger`` (its base; needs ``self._task``)."""

    _task: TaskLike

    # -- background writes ------------------------------------------------------------------------

    def set_flush_period(self, period: float | None) -> None:
        """Write buffered scalars and console lines every ``period`` seconds (None or 0: the default
        0.5 s). Applies to the task's reporter at once."""
        self._task._reporter().interval = float(period) if period else 0.5

    def get_flush_period(self) -> float | None:
        """Seconds between two background writes of the task's reports."""
        return self._task._reporter().interval

    @contextmanager
    def capture_logging(self) -> Iterator[None]:
        """Within the ``with`` block, every ``logging`` record (root logger, any level the loggers
        let through) is also written to the task's console log. Not re-entrant per block; nested
        blocks each add their own copy."""
        handler = _TaskLogHandler(self._task)
        handler.setFormatter(logging.Formatter("%(asctime)s - %(name)s - %(levelname)s - %(message)s"))
        root = logging.getLogger()
        root.addHandler(handler)
        try:
            yield
        finally:
            root.removeHandler(handler)

    # -- NaN / Inf ----------------------------------------------------------------------------------

    @classmethod
    def set_reporting_nan_value(cls, value: float, warn_period: int = 1000) -> None:
        """Report NaN scalars as ``value`` from now on (process-wide), warning on the first and then
        every ``warn_period``-th replacement. Without it, taskmill passes NaN on to the store unchanged."""
        PROCESS.scalar_replacements["nan"] = (float(value), max(1, int(warn_period)))

    @classmethod
    def set_reporting_inf_value(cls, value: float, warn_period: int = 1000) -> None:
        """Report +/-Inf scalars as ``value`` from now on (see ``set_reporting_nan_value``)."""
        PROCESS.scalar_replacements["inf"] = (float(value), max(1, int(warn_period)))

    @staticmethod
    def _reportable(title: str, series: str, value: float) -> float:
        """``value`` after the NaN/Inf replacements in effect (warning as configured)."""
        kind = "nan" if math.isnan(value) else "inf" if math.isinf(value) else ""
        if not kind or kind not in PROCESS.scalar_replacements:
            return value
        replacement, period = PROCESS.scalar_replacements[kind]
        count = PROCESS.scalar_replacement_counts.get(kind, 0)
        PROCESS.scalar_replacement_counts[kind] = count + 1
        if count % period == 0:
            _log.warning("%s/%s: reporting %s as %s", title, series, value, replacement)
        return replacement

    # -- switches ClearML has that change nothing here ---------------------------------------------

    @classmethod
    def matplotlib_force_report_non_interactive(cls, force: bool) -> None:
        """Accepted and ignored: taskmill always reports matplotlib figures as static images."""
        PROCESS.switches["matplotlib_non_interactive"] = bool(force)

    @classmethod
    def tensorboard_auto_group_scalars(cls, group_scalars: bool = False) -> None:
        """Recorded for the TensorBoard binding (``PROCESS.switches``); scalars without a title get
        ``title = series = tag`` unless ``group_scalars``."""
        PROCESS.switches["tensorboard_auto_group_scalars"] = bool(group_scalars)

    @classmethod
    def tensorboard_single_series_per_graph(cls, single_series: bool = False) -> None:
        """Accepted and ignored (deprecated in ClearML too: the UI decides how series are grouped)."""
        PROCESS.switches["tensorboard_single_series_per_graph"] = bool(single_series)

    def set_default_debug_sample_history(self, max_history: int) -> None:
        """Recorded (``get_default_debug_sample_history`` returns it) but not enforced: taskmill
        keeps every debug sample (ClearML overwrites older iterations of one title/series)."""
        PROCESS.sample_history[self._task.id] = int(max_history)

    def get_default_debug_sample_history(self) -> int:
        """The value set with ``set_default_debug_sample_history`` (ClearML's default, 100)."""
        return PROCESS.sample_history.get(self._task.id, 100)

    # -- deprecated names, with ClearML's argument order -------------------------------------------

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
        """ClearML's deprecated name of ``report_confusion_matrix`` (same order, without ``comment``)."""
        self.report_confusion_matrix(  # type: ignore[attr-defined]  # Logger defines it
            title,
            series,
            matrix,
            iteration,
            xaxis,
            yaxis,
            xlabels,
            ylabels,
            yaxis_reversed,
            extra_layout=extra_layout,
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
        """ClearML's deprecated name of ``report_histogram`` (same order, without ``data_args``)."""
        self.report_histogram(  # type: ignore[attr-defined]  # Logger defines it
            title, series, values, iteration, labels, xlabels, xaxis, yaxis, mode, extra_layout=extra_layout
        )

    def report_image_and_upload(
        self,
        title: str,
        series: str,
        iteration: int | None = None,
        path: str | os.PathLike[str] | None = None,
        matrix: Any = None,
        max_image_history: int | None = None,
        delete_after_upload: bool = False,
    ) -> None:
        """ClearML's deprecated form of ``report_image``: ``path`` is ``local_path``, ``matrix`` an
        image or array. Blocking."""
        self.report_image(  # type: ignore[attr-defined]  # Logger defines it
            title,
            series,
            iteration=iteration or 0,
            local_path=path,
            image=matrix,
            max_image_history=max_image_history,
            delete_after_upload=delete_after_upload,
        )
