"""Charts as geometry for hand-written SVG (``templates/_chart.html``): reported scalars, and the
Plotly figures of reported plots that are plain lines, markers or bars.

Scalars: one chart per title, one line per series, iterations on the x axis; the chart also
carries its points as JSON (:attr:`Chart.scalars`) for the browser's zoom, smoothing, log axis,
time axes and series toggles, while the SVG drawn here is what shows without JavaScript.

Plotly figures: a line chart when every trace is a ``scatter`` with numeric x and y, a bar
chart when every trace is a ``bar`` with numeric y (bars grouped per x value); a ``heatmap``
trace becomes a table of numbers (:class:`Heatmap`). Axis ticks are "nice" numbers (1, 2, 2.5,
5 x 10^k). Long series are thinned to at most :data:`MAX_POINTS` points per line by taking every
k-th point (the last point is always kept).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from taskmill.core.model import ScalarPoint
from taskmill.types import JSONValue

WIDTH = 520.0
HEIGHT = 220.0
#: Plot area inside the chart: left, top, right, bottom margins.
MARGIN = (56.0, 14.0, 14.0, 30.0)
MAX_POINTS = 800
#: Points drawn with a hover title when a series has at most this many.
MARKED_POINTS = 60
#: Bars in a bar chart (all traces) at most; a figure with more is shown as data.
MAX_BARS = 400
#: Category labels under a bar chart at most (every k-th is shown).
MAX_BAR_LABELS = 8
#: Cells of a heatmap table at most; a bigger matrix is shown as data.
MAX_CELLS = 2500
#: Intensity classes of heatmap cells (CSS ``hm0`` ... ``hm5``).
HEAT_LEVELS = 6
#: Room for an axis title, added to the left or bottom margin.
AXIS_TITLE_ROOM = 16.0

_T = TypeVar("_T")


@dataclass(frozen=True)
class Series:
    """One line (or bar trace): its name, SVG points, the last value, and hover marks for short
    series. A bar trace has no points and no last value; its bars are the chart's ``bars``."""

    name: str
    points: str
    last: float | None
    colour: int  #: index into the chart palette (CSS classes ``s0`` ... ``s7``)
    marks: list[tuple[float, float, str]]
    bar: bool = False


@dataclass(frozen=True)
class Bar:
    """One bar: its rectangle, palette colour and hover text."""

    x: float
    y: float
    width: float
    height: float
    colour: int
    label: str


@dataclass(frozen=True)
class Chart:
    """A chart: its title, lines (or bars) and axis ticks (``(position, label)``)."""

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
    subtitle: str = ""
    x_title: str = ""
    y_title: str = ""
    bars: list[Bar] = field(default_factory=list)
    #: The scalar lines as JSON for ``static/figures.js`` (zoom, smoothing, axes, toggles); "" for
    #: charts that stay as drawn (Plotly fallbacks).
    scalars: str = ""


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About ``count`` round values covering ``[low, high]`` (the first <= low, the last >= high)."""
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
    while len(ticks) < 50:
        ticks.append(round(value, 12))
        if value >= high - step * 1e-9:  # the last tick covers the highest value
            break
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


def _thin(points: Sequence[_T]) -> list[_T]:
    if len(points) <= MAX_POINTS:
        return list(points)
    every = math.ceil(len(points) / MAX_POINTS)
    kept = list(points[::every])
    if kept[-1] is not points[-1]:
        kept.append(points[-1])
    return kept


def _number(value: float) -> str:
    """``12`` for whole numbers, else six significant digits."""
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else f"{value:.6g}"


@dataclass(frozen=True)
class _Frame:
    """The plot area of a chart and the value range it shows."""

    x_range: tuple[float, float]
    y_range: tuple[float, float]
    x_title: str = ""
    y_title: str = ""

    @property
    def left(self) -> float:
        return MARGIN[0] + (AXIS_TITLE_ROOM if self.y_title else 0.0)

    @property
    def bottom(self) -> float:
        return HEIGHT - MARGIN[3] - (AXIS_TITLE_ROOM if self.x_title else 0.0)

    def sx(self, x: float) -> float:
        x0, x1 = self.x_range
        return self.left + (x - x0) / ((x1 - x0) or 1.0) * (WIDTH - MARGIN[2] - self.left)

    def sy(self, y: float) -> float:
        y0, y1 = self.y_range
        return self.bottom - (y - y0) / ((y1 - y0) or 1.0) * (self.bottom - MARGIN[1])

    def chart(
        self,
        title: str,
        subtitle: str,
        series: list[Series],
        x_ticks: list[tuple[float, str]],
        y_ticks: list[float],
        bars: list[Bar] | None = None,
    ) -> Chart:
        return Chart(
            title,
            series,
            x_ticks,
            [(self.sy(t), tick_label(t)) for t in y_ticks],
            left=self.left,
            bottom=self.bottom,
            subtitle=subtitle,
            x_title=self.x_title,
            y_title=self.y_title,
            bars=bars or [],
        )


@dataclass(frozen=True)
class Line:
    """A line to draw: its name, ``(x, y)`` points in drawing order, and ``mode`` (Plotly's
    ``lines``, ``markers`` or ``lines+markers``)."""

    name: str
    points: Sequence[tuple[float, float]]
    mode: str = "lines"
    colour: int | None = None  #: palette index; None: the line's position in the chart


def line_chart(
    title: str,
    lines: Sequence[Line],
    *,
    subtitle: str = "",
    x_title: str = "",
    y_title: str = "",
    integer_x: bool = False,
    reverse_x: bool = False,
) -> Chart:
    """A chart of ``lines`` (x ticks on whole numbers only when ``integer_x``; x running from
    high to low when ``reverse_x``)."""
    finite = [(x, y) for line in lines for x, y in line.points if math.isfinite(x) and math.isfinite(y)]
    y_ticks = nice_ticks(min((y for _, y in finite), default=0.0), max((y for _, y in finite), default=1.0))
    x_ticks = nice_ticks(
        min((x for x, _ in finite), default=0.0), max((x for x, _ in finite), default=1.0), 6
    )
    if integer_x:
        x_ticks = [t for t in x_ticks if float(t).is_integer()] or x_ticks
    x_range = (x_ticks[-1], x_ticks[0]) if reverse_x else (x_ticks[0], x_ticks[-1])
    frame = _Frame(x_range, (y_ticks[0], y_ticks[-1]), x_title, y_title)
    series = []
    for index, line in enumerate(lines):
        shown = [(x, y) for x, y in _thin(line.points) if math.isfinite(x) and math.isfinite(y)]
        coords = " ".join(f"{frame.sx(x):.1f},{frame.sy(y):.1f}" for x, y in shown)
        marks = []
        if len(shown) <= MARKED_POINTS or "markers" in line.mode:
            marks = [(frame.sx(x), frame.sy(y), f"{line.name} @ {_number(x)}: {y:.6g}") for x, y in shown]
        last = line.points[-1][1] if line.points else 0.0
        drawn = coords if "lines" in line.mode else ""
        colour = index if line.colour is None else line.colour
        series.append(Series(line.name, drawn, last, colour % 8, marks))
    return frame.chart(title, subtitle, series, [(frame.sx(t), tick_label(t)) for t in x_ticks], y_ticks)


@dataclass(frozen=True)
class ScalarLine:
    """One line of a scalar chart: its name, reported points and palette index (None: its
    position in the chart)."""

    name: str
    points: Sequence[ScalarPoint]
    colour: int | None = None


def scalar_chart(title: str, lines: Sequence[ScalarLine], *, subtitle: str = "") -> Chart:
    """A chart of reported scalars, iterations on the x axis, with the (thinned) points of every
    line embedded for the browser: iteration, value and report time of each point, so that
    ``static/figures.js`` can zoom, smooth, switch to a log or time axis and hide lines."""
    ordered = [(line, sorted(line.points, key=lambda p: (p.iteration, p.timestamp))) for line in lines]
    drawn = [
        Line(line.name, [(float(p.iteration), p.value) for p in points], colour=line.colour)
        for line, points in ordered
    ]
    made = line_chart(title, drawn, subtitle=subtitle, integer_x=True)
    embedded = []
    for index, (line, points) in enumerate(ordered):
        kept = [p for p in _thin(points) if math.isfinite(p.value)]
        colour = index if line.colour is None else line.colour
        embedded.append(
            {
                "name": line.name,
                "colour": colour % 8,
                "dash": colour >= 8,  # the palette's second round: dashed, told apart
                "x": [p.iteration for p in kept],
                "y": [p.value for p in kept],
                "t": [round(p.timestamp, 3) for p in kept],
            }
        )
    frame = {"left": made.left, "top": made.top, "right": made.right, "bottom": made.bottom}
    data = {"frame": frame, "lines": embedded}
    return replace(made, scalars=json.dumps(data, separators=(",", ":"), allow_nan=False))


def chart(title: str, lines: dict[str, list[ScalarPoint]]) -> Chart:
    """The chart of one title with one line per series (see :func:`scalar_chart`)."""
    return scalar_chart(title, [ScalarLine(name, points) for name, points in sorted(lines.items())])


def bar_chart(
    title: str,
    categories: Sequence[str],
    traces: Sequence[tuple[str, Sequence[float | None]]],
    *,
    subtitle: str = "",
    x_title: str = "",
    y_title: str = "",
) -> Chart:
    """Grouped bars: ``traces`` are ``(name, one value per category)`` (None: no bar)."""
    values = [v for _, ys in traces for v in ys if v is not None and math.isfinite(v)]
    y_ticks = nice_ticks(min([0.0, *values]), max([0.0, *values]))
    count = max(len(categories), 1)
    frame = _Frame((0.0, float(count)), (y_ticks[0], y_ticks[-1]), x_title, y_title)
    band = frame.sx(1.0) - frame.sx(0.0)
    width = band * 0.8 / max(len(traces), 1)
    bars = []
    for index, (name, ys) in enumerate(traces):
        for slot, (category, value) in enumerate(zip(categories, ys, strict=False)):
            if value is None or not math.isfinite(value):
                continue
            top, base = frame.sy(max(value, 0.0)), frame.sy(min(value, 0.0))
            x, height = frame.sx(slot) + band * 0.1 + index * width, max(base - top, 0.5)
            label = f"{name} @ {category}: {value:.6g}"
            bars.append(Bar(round(x, 1), round(top, 1), round(width, 1), round(height, 1), index % 8, label))
    every = math.ceil(len(categories) / MAX_BAR_LABELS) or 1
    x_ticks = [(frame.sx(slot + 0.5), _short(c)) for slot, c in enumerate(categories) if slot % every == 0]
    series = [Series(name, "", None, index % 8, [], bar=True) for index, (name, _) in enumerate(traces)]
    return frame.chart(title, subtitle, series, x_ticks, y_ticks, bars)


def _short(label: str, limit: int = 10) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def charts_of(points: Sequence[ScalarPoint]) -> list[Chart]:
    """One chart per title, in title order."""
    by_title: dict[str, dict[str, list[ScalarPoint]]] = {}
    for point in points:
        by_title.setdefault(point.title, {}).setdefault(point.series, []).append(point)
    return [chart(title, lines) for title, lines in sorted(by_title.items())]


# -- Plotly figures -------------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _parts(figure: JSONValue) -> tuple[list[dict[str, Any]], dict[str, Any]] | None:
    """The traces and layout of a Plotly figure dict; None if it is not one."""
    if not isinstance(figure, dict):
        return None
    data, layout = figure.get("data"), figure.get("layout")
    if not isinstance(data, list):
        return None
    traces = [t for t in data if isinstance(t, dict)]
    if not traces or len(traces) != len(data):
        return None
    return traces, layout if isinstance(layout, dict) else {}


def _axis(layout: dict[str, Any], axis: str) -> dict[str, Any]:
    found = layout.get(axis)
    return found if isinstance(found, dict) else {}


def _axis_title(layout: dict[str, Any], axis: str) -> str:
    title = _axis(layout, axis).get("title")
    if isinstance(title, dict):
        title = title.get("text")
    return str(title) if title else ""


def _trace_x(trace: dict[str, Any], count: int) -> list[Any]:
    x = trace.get("x")
    return list(x) if isinstance(x, list) and len(x) == count else list(range(count))


def _line(trace: dict[str, Any], index: int) -> Line | None:
    y = trace.get("y")
    if not isinstance(y, list):
        return None
    x = _trace_x(trace, len(y))
    if not all(v is None or _is_number(v) for v in [*x, *y]):
        return None
    mode = str(trace.get("mode") or ("lines+markers" if len(y) < 20 else "lines"))
    points = [(float(a), float(b)) for a, b in zip(x, y, strict=True) if a is not None and b is not None]
    return Line(str(trace.get("name") or f"trace {index}"), points, mode)


def plotly_chart(title: str, subtitle: str, figure: JSONValue) -> Chart | None:
    """The chart of a Plotly figure whose traces are all ``scatter`` (numeric x and y) or all
    vertical ``bar`` (numeric y); None for any other figure."""
    parts = _parts(figure)
    if parts is None:
        return None
    traces, layout = parts
    kinds = {str(t.get("type") or "scatter") for t in traces}
    x_title, y_title = _axis_title(layout, "xaxis"), _axis_title(layout, "yaxis")
    if kinds <= {"scatter", "scattergl"}:
        lines = [_line(t, i) for i, t in enumerate(traces)]
        if any(line is None for line in lines):
            return None
        return line_chart(
            title,
            [line for line in lines if line is not None],
            subtitle=subtitle,
            x_title=x_title,
            y_title=y_title,
            reverse_x=_axis(layout, "xaxis").get("autorange") == "reversed",
        )
    bars = _bars(traces) if kinds == {"bar"} else None
    if bars is None:
        return None
    return bar_chart(title, bars[0], bars[1], subtitle=subtitle, x_title=x_title, y_title=y_title)


def _bars(traces: list[dict[str, Any]]) -> tuple[list[str], list[tuple[str, Sequence[float | None]]]] | None:
    """Categories and per-trace values of vertical bar traces with numeric y; None otherwise.
    Numeric x values are sorted; other x values keep their first order."""
    columns: list[tuple[str, list[Any], list[Any]]] = []
    for index, trace in enumerate(traces):
        y = trace.get("y")
        if trace.get("orientation") == "h" or not isinstance(y, list):
            return None
        if not all(v is None or _is_number(v) for v in y):
            return None
        columns.append((str(trace.get("name") or f"trace {index}"), _trace_x(trace, len(y)), y))
    if sum(len(y) for _, _, y in columns) > MAX_BARS:
        return None
    xs = [x for _, xs, _ in columns for x in xs]
    numeric = all(_is_number(x) for x in xs)
    keys: list[Any] = sorted(set(xs)) if numeric else list(dict.fromkeys(map(str, xs)))
    slot = {key: i for i, key in enumerate(keys)}
    bars: list[tuple[str, Sequence[float | None]]] = []
    for name, x, y in columns:
        values: list[float | None] = [None] * len(keys)
        for a, b in zip(x, y, strict=True):
            values[slot[a if numeric else str(a)]] = None if b is None else float(b)
        bars.append((name, values))
    return [tick_label(k) if numeric else str(k) for k in keys], bars


@dataclass(frozen=True)
class Heatmap:
    """A heatmap as a table: column labels, then rows of ``(label, cells)``; a cell is its text and
    its intensity class (0 .. HEAT_LEVELS - 1, -1 for no value). Rows are listed top to bottom."""

    columns: list[str]
    rows: list[tuple[str, list[tuple[str, int]]]]
    x_title: str = ""
    y_title: str = ""


def _labels(labels: Any, count: int) -> list[str]:
    if isinstance(labels, list) and len(labels) == count:
        return [str(v) for v in labels]
    return [str(i) for i in range(count)]


def heatmap_table(figure: JSONValue) -> Heatmap | None:
    """The table of a Plotly figure with one ``heatmap`` trace of numbers; None otherwise. Row 0
    is at the bottom, as Plotly draws it, unless the y axis is reversed."""
    parts = _parts(figure)
    if parts is None or len(parts[0]) != 1 or parts[0][0].get("type") != "heatmap":
        return None
    (trace,), layout = parts
    z = trace.get("z")
    if not isinstance(z, list) or not z or not all(isinstance(row, list) for row in z):
        return None
    width = max(len(row) for row in z)
    cells = [v for row in z for v in row]
    if len(z) * width > MAX_CELLS or not all(v is None or _is_number(v) for v in cells):
        return None
    numbers = [float(v) for v in cells if v is not None]
    low, high = min(numbers, default=0.0), max(numbers, default=0.0)

    def cell(value: Any) -> tuple[str, int]:
        if value is None:
            return "", -1
        level = round((value - low) / (high - low) * (HEAT_LEVELS - 1)) if high > low else 0
        return _number(value) if isinstance(value, int) else f"{value:.4g}", level

    labels = _labels(trace.get("y"), len(z))
    rows = [(label, [cell(v) for v in row]) for label, row in zip(labels, z, strict=True)]
    if _axis(layout, "yaxis").get("autorange") != "reversed":
        rows.reverse()
    return Heatmap(
        _labels(trace.get("x"), width), rows, _axis_title(layout, "xaxis"), _axis_title(layout, "yaxis")
    )
