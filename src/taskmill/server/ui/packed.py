"""Plotly's packed arrays, unpacked for the server-drawn (no-JavaScript) charts.

Plotly ≥ 6 serialises numpy arrays as ``{"dtype": "f8", "bdata": "<base64>", "shape": "3, 4"}``
(little-endian typed-array bytes). :func:`unpack` turns every such object in a figure back into
(nested) lists of numbers, without numpy. Pure and side-effect free; anything that is not a
well-formed packed array is returned unchanged.
"""

from __future__ import annotations

import base64
import binascii
import sys
from array import array
from typing import Any

from taskmill.types import JSONValue

#: Plotly's dtype names -> :mod:`array` type codes of the same size.
_CODES = {"i1": "b", "u1": "B", "i2": "h", "u2": "H", "i4": "i", "u4": "I", "f4": "f", "f8": "d"}
#: Largest packed array decoded (values); bigger ones stay packed (shown as JSON).
MAX_VALUES = 1_000_000


def _decode(packed: dict[str, Any]) -> JSONValue | None:
    code = _CODES.get(str(packed.get("dtype", "")).lstrip("<"))
    raw = packed.get("bdata")
    if code is None or not isinstance(raw, str):
        return None
    try:
        data = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        return None
    values = array(code)
    if len(data) % values.itemsize or len(data) // values.itemsize > MAX_VALUES:
        return None
    values.frombytes(data)
    if sys.byteorder == "big":
        values.byteswap()
    flat: list[Any] = values.tolist()
    shape = packed.get("shape")
    if shape is None:
        return flat
    try:
        dims = [int(d) for d in str(shape).replace("(", "").replace(")", "").split(",") if d.strip()]
    except ValueError:
        return None
    if len(dims) <= 1:
        return flat
    if len(dims) != 2 or dims[0] * dims[1] != len(flat):
        return None  # only 2-D (heatmap z, surface z) is drawn server-side
    rows, cols = dims
    return [flat[r * cols : (r + 1) * cols] for r in range(rows)]


def unpack(value: JSONValue) -> JSONValue:
    """``value`` with every packed array replaced by its list of numbers (recursively)."""
    if isinstance(value, dict):
        if "bdata" in value and "dtype" in value:
            decoded = _decode(value)
            if decoded is not None:
                return decoded
        return {k: unpack(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unpack(v) for v in value]
    return value
