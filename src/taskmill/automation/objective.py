"""What an optimization maximizes or minimizes: a reported scalar of each trial (ClearML's
``Objective``).

``order`` is ``max`` or ``min``. The value of a trial is the *last* reported value of
``title/series`` (the highest iteration), or with ``extremum=True`` the best value over all its
reports (ClearML's ``min_global``/``max_global`` signs). Reading blocks on one store query.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from taskmill.api.task import Task
from taskmill.automation.job import ClearmlJob

SIGNS = ("min", "max", "min_global", "max_global")


def _task(value: str | Task | ClearmlJob) -> Task:
    if isinstance(value, Task):
        return value
    if isinstance(value, ClearmlJob):
        return value.task
    return Task.get_task(task_id=value)


class Objective:
    """One objective: scalar ``title/series``, to ``max``imize or ``min``imize."""

    def __init__(self, title: str, series: str, order: str = "max", extremum: bool = False) -> None:
        """ValueError for an ``order`` other than min/max."""
        if order not in ("min", "max"):
            raise ValueError(f"objective order must be 'min' or 'max', not {order!r}")
        self.title = title
        self.series = series
        self.order = order
        self.extremum = bool(extremum)

    @classmethod
    def from_sign(cls, title: str, series: str, sign: str) -> Objective:
        """From ClearML's ``objective_metric_sign`` (min, max, min_global, max_global)."""
        if sign not in SIGNS:
            raise ValueError(f"objective_metric_sign must be one of {SIGNS}, not {sign!r}")
        return cls(
            title, series, order="min" if sign.startswith("min") else "max", extremum=sign.endswith("_global")
        )

    def get_objective_metric(self) -> tuple[str, str]:
        """``(title, series)``."""
        return self.title, self.series

    def get_objective_sign(self) -> float:
        """+1 to maximize, -1 to minimize."""
        return 1.0 if self.order == "max" else -1.0

    def raw_from_scalars(
        self, scalars: Mapping[str, Mapping[str, Mapping[str, Sequence[float]]]]
    ) -> tuple[int, float] | None:
        """``(iteration, value)`` from ``Task.get_reported_scalars()`` output; None if not reported."""
        series = scalars.get(self.title, {}).get(self.series)
        if not series or not series.get("y"):
            return None
        xs, ys = list(series["x"]), list(series["y"])
        if self.extremum:
            pick = max if self.order == "max" else min
            best = pick(range(len(ys)), key=lambda i: ys[i])
            return int(xs[best]), float(ys[best])
        last = max(range(len(ys)), key=lambda i: (xs[i], i))
        return int(xs[last]), float(ys[last])

    def get_current_raw_objective(self, task: str | Task | ClearmlJob) -> tuple[int, float] | None:
        """``(iteration, value)`` of the task now, None before it reported the scalar."""
        return self.raw_from_scalars(_task(task).get_reported_scalars())

    def get_objective(self, task_id: str | Task | ClearmlJob) -> float | None:
        """The task's objective value (None before it reported it)."""
        raw = self.get_current_raw_objective(task_id)
        return None if raw is None else raw[1]

    def get_normalized_objective(self, task_id: str | Task | ClearmlJob) -> float | None:
        """The objective with its sign applied: higher is always better."""
        value = self.get_objective(task_id)
        return None if value is None else value * self.get_objective_sign()

    def get_top_tasks(
        self, top_k: int, optimizer_task_id: str | None = None, task_filter: Mapping[str, Any] | None = None
    ) -> list[Task]:
        """The ``top_k`` best ended tasks (children of ``optimizer_task_id`` when given), best first."""
        flt = dict(task_filter or {})
        if optimizer_task_id:
            flt["parent"] = optimizer_task_id
        flt.setdefault("status", ["completed", "published", "stopped"])
        scored = []
        for task in Task.get_tasks(task_filter=flt):
            value = self.get_normalized_objective(task)
            if value is not None:
                scored.append((value, task))
        scored.sort(key=lambda hit: hit[0], reverse=True)
        return [task for _, task in scored[: max(0, top_k)]]

    def __repr__(self) -> str:
        return f"Objective({self.title!r}, {self.series!r}, order={self.order!r}, extremum={self.extremum})"
