"""The parts of ClearML's ``clearml.utilities`` that pipeline code imports.

* :mod:`taskmill.utilities.proxy_object`: ``get_basic_type`` (which ClearML's generated function
  steps import), ``flatten_dictionary``, ``nested_from_flat_dictionary``,
  ``naive_nested_from_flat_dictionary``, ``verify_basic_type``, ``cast_basic_type``,
  ``get_type_from_basic_type_str``;
* :mod:`taskmill.utilities.seed`: ``make_deterministic``.

ClearML's vendored ``pyhocon`` is not here: install the ``pyhocon`` package and import it directly.
"""

from __future__ import annotations

from taskmill.utilities.proxy_object import (
    cast_basic_type,
    flatten_dictionary,
    get_basic_type,
    naive_nested_from_flat_dictionary,
    nested_from_flat_dictionary,
    verify_basic_type,
)
from taskmill.utilities.seed import make_deterministic

__all__ = [
    "cast_basic_type",
    "flatten_dictionary",
    "get_basic_type",
    "make_deterministic",
    "naive_nested_from_flat_dictionary",
    "nested_from_flat_dictionary",
    "verify_basic_type",
]
