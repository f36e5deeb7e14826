"""Line charts of reported scalars, as geometry for hand-written SVG (``templates/_chart.html``).

One chart per scalar title, one line per series, iterations on the x axis. Axis ticks are
"nice" numbers (1, 2, 2.5, 5 x 10^k). Long series are thinned to at most :data:`MAX_POINTS`
points per line by taking every k-th point (the last point is always kept).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from taskmill.core.model import ScalarPoint

WIDTH = 520.0
HEIGHT = 220.0
#: Plot area inside the chart: left, top, right, bottom margins.
MARGIN = (56.0, 14.0, 14.0, 30.0)
MAX_POINTS = 800
#: Points drawn with a hover title when a series has at most this many.
MARKED_POINTS = 60


@dataclass(frozen=True)
class Series:
    """One line: its name, SVG points, the last value, and hover marks for short series."""

    name: str
    points: str
    last: float
    colour: int  #: index into the chart palette (CSS classes ``s0`` ... ``s7``)
    marks: list[tuple[float, float, str]]


@dataclass(frozen=True)
class Chart:
    """A chart: its title, lines and axis ticks (``(position, label)``)."""

    title: str
    series: list[Series]
    x_ticks: list[tuple[float, str]]
    y_ticks: list[tuple[float, str]]
    width: float = WIDTH
    height: float = HEIGHT
    left: float = MARGIN[0]
    top: float = MARGIN[1]
    right: float = WIDTH - MARGIN[2]
    bottom: float = HEIGHT - MARGIN[3]


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About ``count`` round values covering ``[low, high]``."""
    if not math.isfinite(low) or not math.isfinite(high):
        return [0.0]
    if high <= low:
        pad = abs(low) * 0.1 or 1.0
        low, high = low - pad, high + pad
    raw = (high - low) / max(count - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.floor(low / step) * step
    ticks: list[float] = []
    value = start
    while value <= high + step * 0.5 and len(ticks) < 50:
        ticks.append(round(value, 12))
        value += step
    return ticks


def tick_label(value: float) -> str:
    """Short label: ``0.25``, ``1.2e-05``, ``3,000``."""
    if value == 0:
        return "0"
    if abs(value) >= 1e5 or abs(value) < 1e-3:
        return f"{value:.2g}"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:.4g}"


def _thin(points: Sequence[ScalarPoint]) -> list[ScalarPoint]:
    if len(points) <= MAX_POINTS:
        return list(points)
    every = math.ceil(len(points) / MAX_POINTS)
    kept = list(points[::every])
    if kept[-1] is not points[-1]:
        kept.append(points[-1])
    return kept


def chart(title: str, lines: dict[str, list[ScalarPoint]]) -> Chart:
    """The chart of one title with one line per series."""
    values = [p.value for pts in lines.values() for p in pts if math.isfinite(p.value)]
    iterations = [p.iteration for pts in lines.values() for p in pts]
    y_ticks = nice_ticks(min(values, default=0.0), max(values, default=1.0))
    x_ticks = nice_ticks(float(min(iterations, default=0)), float(max(iterations, default=1)), 6)
    x_ticks = [t for t in x_ticks if float(t).is_integer()] or x_ticks
    x0, x1, y0, y1 = x_ticks[0], x_ticks[-1], y_ticks[0], y_ticks[-1]
    left, top = MARGIN[0], MARGIN[1]
    right, bottom = WIDTH - MARGIN[2], HEIGHT - MARGIN[3]

    def sx(x: float) -> float:
        return left + (x - x0) / ((x1 - x0) or 1.0) * (right - left)

    def sy(y: float) -> float:
        return bottom - (y - y0) / ((y1 - y0) or 1.0) * (bottom - top)

    series = []
    for index, (name, points) in enumerate(sorted(lines.items())):
        ordered = sorted(points, key=lambda p: p.iteration)
        shown = [p for p in _thin(ordered) if math.isfinite(p.value)]
        coords = " ".join(f"{sx(p.iteration):.1f},{sy(p.value):.1f}" for p in shown)
        marks = []
        if len(shown) <= MARKED_POINTS:
            marks = [(sx(p.iteration), sy(p.value), f"{name} @ {p.iteration}: {p.value:.6g}") for p in shown]
        series.append(Series(name, coords, ordered[-1].value if ordered else 0.0, index % 8, marks))
    return Chart(
        title,
        series,
        [(sx(t), tick_label(t)) for t in x_ticks],
        [(sy(t), tick_label(t)) for t in y_ticks],
    )


def charts_of(points: Sequence[ScalarPoint]) -> list[Chart]:
    """One chart per title, in title order."""
    by_title: dict[str, dict[str, list[ScalarPoint]]] = {}
    for point in points:
        by_title.setdefault(point.title, {}).setdefault(point.series, []).append(point)
    return [chart(title, lines) for title, lines in sorted(by_title.items())]
