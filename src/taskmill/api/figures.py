"""Plotly-style figure dicts for the ``Logger``'s charts, and a PNG encoder for its images.

Figures are plain JSON (``{"data": [traces], "layout": {...}}``) as ClearML's reporter builds them:
``bar`` traces for histograms, ``scatter`` for line and scatter plots, ``scatter3d``, ``surface``
and ``heatmap``. numpy inputs become lists; NaN and infinities become ``null`` (a gap).

The PNG encoder writes 8-bit grayscale, grayscale+alpha, RGB or RGBA images with filter type 0
and one zlib stream; numpy is imported only for numpy images, Pillow never (PIL images are read
through their own ``tobytes``).
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, cast

from taskmill.types import JSONValue

Figure = dict[str, JSONValue]

#: ``channels -> PNG colour type`` (grayscale, grayscale+alpha, RGB, RGBA).
PNG_COLOUR_TYPES = MappingProxyType({1: 0, 2: 4, 3: 2, 4: 6})
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PIL_MODES = MappingProxyType({"L": 1, "LA": 2, "RGB": 3, "RGBA": 4})


@dataclass(frozen=True)
class SeriesInfo:
    """One line of :meth:`Logger.report_line_plot`: its name, ``N x 2`` data and optional point labels."""

    name: str
    data: Any
    labels: Sequence[str] | None = None


# -- plain JSON -------------------------------------------------------------------------------------


def plain(value: Any) -> JSONValue:
    """``value`` as JSON: numpy arrays and scalars through ``tolist()``, NaN/inf as None."""
    tolist = getattr(value, "tolist", None)
    if callable(tolist) and not isinstance(value, (str, bytes)):
        value = tolist()
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, range)):
        return [plain(v) for v in value]
    try:
        return plain(float(value))
    except (TypeError, ValueError):
        return str(value)


def _labels(labels: Sequence[Any] | None) -> list[JSONValue] | None:
    return None if labels is None else [str(v) for v in labels]


def _rows(data: Any, width: int, what: str) -> list[list[JSONValue]]:
    """``data`` (``N x width`` array or list of tuples) as a list of rows."""
    rows = plain(data)
    if not isinstance(rows, list) or not all(isinstance(r, list) and len(r) == width for r in rows):
        raise ValueError(f"{what} must be a list of {width}-tuples or an N x {width} array")
    return cast(list[list[JSONValue]], rows)


def _columns(rows: list[list[JSONValue]], width: int) -> list[list[JSONValue]]:
    return [[row[i] for row in rows] for i in range(width)]


def _matrix(values: Any, what: str) -> list[list[JSONValue]]:
    """A 1-D or 2-D array-like as rows (a 1-D one is one row)."""
    rows = plain(values)
    if isinstance(rows, list) and rows and not isinstance(rows[0], list):
        rows = [rows]
    numbers = isinstance(rows, list) and all(
        isinstance(r, list) and all(v is None or isinstance(v, (int, float)) for v in r) for r in rows
    )
    if not numbers:
        raise ValueError(f"{what} must be a 1-D or 2-D array of numbers")
    return cast(list[list[JSONValue]], rows)


def _layout(title: str, xaxis: str | None, yaxis: str | None) -> dict[str, JSONValue]:
    return {"title": title, "xaxis": {"title": xaxis or ""}, "yaxis": {"title": yaxis or ""}}


# -- figures ----------------------------------------------------------------------------------------


def histogram(
    title: str,
    series: str,
    values: Any,
    labels: Sequence[Any] | None,
    xlabels: Sequence[Any] | None,
    xaxis: str | None,
    yaxis: str | None,
    mode: str | None,
) -> Figure:
    """Bar traces of pre-computed histogram ``values``: one trace per row (ClearML's layout), or
    per column when ``labels`` names the columns and not the rows; bars at ``xlabels`` or 0..n-1."""
    rows = _matrix(values, "histogram values")
    if labels is not None and len(labels) != len(rows) and rows and len(labels) == len(rows[0]):
        rows = _columns(rows, len(rows[0]))
    width = len(rows[0]) if rows else 0
    if xlabels is not None and len(xlabels) != width:
        raise ValueError(f"xlabels has {len(xlabels)} labels for {width} bars")
    if labels is not None and len(labels) == 1:
        labels = list(labels) * len(rows)
    names = (
        [str(n) for n in labels] if labels is not None and len(labels) == len(rows) else [series] * len(rows)
    )
    x: list[JSONValue] = [str(v) for v in xlabels] if xlabels is not None else list(range(width))
    traces: list[JSONValue] = [
        {"type": "bar", "name": n, "x": x, "y": r} for n, r in zip(names, rows, strict=True)
    ]
    return {"data": traces, "layout": {**_layout(title, xaxis, yaxis), "barmode": mode or "group"}}


def scatter2d(
    title: str,
    series: Sequence[SeriesInfo],
    xaxis: str | None,
    yaxis: str | None,
    mode: str,
    reverse_xaxis: bool = False,
) -> Figure:
    """``scatter`` traces, one per series (``mode``: lines, markers or lines+markers)."""
    traces: list[JSONValue] = []
    for s in series:
        x, y = _columns(_rows(s.data, 2, f"the scatter data of series '{s.name}'"), 2)
        traces.append(
            {"type": "scatter", "name": str(s.name), "x": x, "y": y, "mode": mode, "text": _labels(s.labels)}
        )
    layout = _layout(title, xaxis, yaxis)
    if reverse_xaxis:
        layout["xaxis"] = {"title": xaxis or "", "autorange": "reversed"}
    return {"data": traces, "layout": layout}


def series_info(item: Any) -> SeriesInfo:
    """A ``SeriesInfo`` from one (ClearML's ``SeriesInfo`` or a dict with ``name`` and ``data``)."""
    if isinstance(item, Mapping):
        return SeriesInfo(str(item["name"]), item["data"], item.get("labels"))
    return SeriesInfo(str(item.name), item.data, getattr(item, "labels", None))


def scatter3d(
    title: str,
    series: str,
    scatter: Any,
    axes: tuple[str | None, str | None, str | None],
    labels: Sequence[Any] | None,
    mode: str,
) -> Figure:
    """``scatter3d`` traces: one for ``N x 3`` data, one per item for a list of such series."""
    data = plain(scatter)
    many = _depth(data) >= 3
    groups = data if many and isinstance(data, list) else [data]
    traces: list[JSONValue] = []
    for index, group in enumerate(groups):
        x, y, z = _columns(_rows(group, 3, "scatter3d data"), 3)
        name = f"{series} {index}" if many else series
        traces.append(
            {"type": "scatter3d", "name": name, "x": x, "y": y, "z": z, "mode": mode, "text": _labels(labels)}
        )
    return {"data": traces, "layout": {"title": title, "scene": _scene(*axes)}}


def _depth(value: JSONValue) -> int:
    """How deep the first items of nested lists go (``[[[1, 2, 3]]]`` is 3)."""
    depth = 0
    while isinstance(value, list) and value:
        depth, value = depth + 1, value[0]
    return depth


def _scene(xaxis: str | None, yaxis: str | None, zaxis: str | None) -> dict[str, JSONValue]:
    return {"xaxis": {"title": xaxis or ""}, "yaxis": {"title": yaxis or ""}, "zaxis": {"title": zaxis or ""}}


def surface(
    title: str,
    series: str,
    matrix: Any,
    axes: tuple[str | None, str | None, str | None],
    xlabels: Sequence[Any] | None,
    ylabels: Sequence[Any] | None,
    camera: Sequence[float] | None,
) -> Figure:
    """A ``surface`` trace of ``matrix``; labels become the scene's tick texts."""
    scene = _scene(*axes)
    for key, name, ticks in (("xaxis", axes[0], xlabels), ("yaxis", axes[1], ylabels)):
        if ticks is not None:
            scene[key] = {
                "title": name or "",
                "ticktext": _labels(ticks),
                "tickvals": list(range(len(ticks))),
            }
    if camera is not None:
        scene["camera"] = {"eye": dict(zip("xyz", (float(c) for c in camera), strict=False))}
    trace: dict[str, JSONValue] = {
        "type": "surface",
        "name": series,
        "z": [*_matrix(matrix, "surface matrix")],
    }
    return {"data": [trace], "layout": {"title": title, "scene": scene}}


def heatmap(
    title: str,
    series: str,
    matrix: Any,
    xaxis: str | None,
    yaxis: str | None,
    xlabels: Sequence[Any] | None,
    ylabels: Sequence[Any] | None,
    yaxis_reversed: bool,
) -> Figure:
    """A ``heatmap`` trace (``z`` = rows of ``matrix``, ``x``/``y`` = column/row labels)."""
    z: list[JSONValue] = [*_matrix(matrix, "matrix")]
    trace: dict[str, JSONValue] = {
        "type": "heatmap",
        "name": series,
        "z": z,
        "x": _labels(xlabels),
        "y": _labels(ylabels),
    }
    layout = _layout(title, xaxis, yaxis)
    if yaxis_reversed:
        layout["yaxis"] = {"title": yaxis or "", "autorange": "reversed"}
    return {"data": [trace], "layout": layout}


# -- PNG --------------------------------------------------------------------------------------------


def encode_png(width: int, height: int, channels: int, pixels: bytes) -> bytes:
    """An 8-bit PNG of ``pixels`` (rows top to bottom, ``channels`` bytes a pixel, no padding)."""
    if channels not in PNG_COLOUR_TYPES:
        raise ValueError(f"a PNG pixel has 1, 2, 3 or 4 channels, not {channels}")
    if width < 1 or height < 1:
        raise ValueError(f"an image needs at least one pixel, this one is {width} x {height}")
    stride = width * channels
    if len(pixels) != stride * height:
        raise ValueError(f"{len(pixels)} bytes of pixels for a {width} x {height} x {channels} image")
    scanlines = b"".join(b"\x00" + pixels[row * stride : (row + 1) * stride] for row in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, PNG_COLOUR_TYPES[channels], 0, 0, 0)
    return (
        PNG_SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(scanlines, 6))
        + _chunk(b"IEND", b"")
    )


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def image_png(image: Any) -> bytes:
    """PNG bytes of a PIL image or an array (``H x W`` grayscale, ``H x W x 1/2/3/4``; uint8, or
    floats in [0, 1] scaled by 255; other integers clipped to 0..255)."""
    if all(hasattr(image, a) for a in ("mode", "size", "tobytes", "convert")):  # a PIL image
        if image.mode not in _PIL_MODES:
            image = image.convert("RGBA")
        width, height = image.size
        return encode_png(int(width), int(height), _PIL_MODES[image.mode], image.tobytes())
    try:
        import numpy as np
    except ImportError as exc:  # pragma: no cover - numpy comes with any array a user has
        raise ValueError(f"cannot read an image from a {type(image).__name__} without numpy") from exc
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.dtype.kind not in "biuf" or array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] > 4):
        raise ValueError(
            f"an image is H x W or H x W x 1..4 numbers, not {array.dtype} of shape {array.shape}"
        )
    if array.dtype.kind == "f":
        array = np.rint(np.clip(np.nan_to_num(array), 0.0, 1.0) * 255.0)
    elif array.dtype.kind == "b":
        array = array * 255
    array = np.ascontiguousarray(np.clip(array, 0, 255).astype(np.uint8))
    channels = 1 if array.ndim == 2 else int(array.shape[2])
    return encode_png(int(array.shape[1]), int(array.shape[0]), channels, array.tobytes())
