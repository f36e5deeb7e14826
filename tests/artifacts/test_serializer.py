"""The serializer interface's shared helpers: bounded previews, an object's library by name."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from taskmill.artifacts.plain_serializers import JsonSerializer
from taskmill.artifacts.serializer import PREVIEW_LIMIT, module_root, truncate


def test_truncate_marks_the_cut() -> None:
    assert truncate("short") == "short"
    cut = truncate("x" * 1000)
    assert len(cut) == PREVIEW_LIMIT and cut.endswith("…")
    assert truncate("abcdef", 4) == "abc…"


def test_default_preview_is_a_truncated_repr() -> None:
    long_list = list(range(10_000))
    preview = JsonSerializer().preview(long_list)
    assert len(preview) == PREVIEW_LIMIT and preview.startswith("[0, 1, 2") and preview.endswith("…")


def test_module_root_names_the_top_level_package() -> None:
    assert module_root(np.arange(2)) == "numpy"
    assert module_root(Path(".")) == "pathlib"
    assert module_root({}) == "builtins"
