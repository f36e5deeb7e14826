"""The serializer registry: which serializer an object gets, reading formats back, and plugins.

Plugins are tested the way they are installed: a tiny distribution (a module and a ``.dist-info``
folder with ``entry_points.txt``) in a folder put on ``sys.path``.
"""

from __future__ import annotations

import collections
import logging
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from taskmill.artifacts import ArtifactStore, Serializer, default_registry
from taskmill.artifacts.serializers import (
    ENTRY_POINT_GROUP,
    JsonSerializer,
    SerializerRegistry,
    entry_point_serializers,
    normalize_extension,
)


def _chosen(obj: object, extension: str | None = None) -> str:
    return default_registry().candidates(obj, extension)[0].format


# -- choice by type -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (np.arange(3.0), "npy"),
        (np.array([1, "a", None], dtype=object), "pickle"),  # Python objects inside: npy cannot mmap them
        (pd.DataFrame({"a": [1]}), "parquet"),
        (pd.Series([1, 2]), "pickle"),
        ({"a": 1}, "json"),
        ([1, 2], "json"),
        ((1, 2), "pickle"),
        (collections.OrderedDict(a=1), "pickle"),  # a subclass would come back as a plain dict
        ("just some text", "text"),
        (b"raw", "pickle"),
        (3.5, "pickle"),
    ],
)
def test_default_format_follows_the_type(obj: object, expected: str) -> None:
    assert _chosen(obj) == expected


def test_existing_paths_are_files_or_folders(tmp_path: Path) -> None:
    file = tmp_path / "data.csv"
    file.write_text("a,b\n")
    assert _chosen(str(file)) == "raw"
    assert _chosen(file) == "raw"
    assert _chosen(str(tmp_path)) == "zip"
    assert _chosen(tmp_path) == "zip"
    assert _chosen(str(tmp_path / "missing.csv")) == "text"  # a str naming nothing is just text


@pytest.mark.parametrize(
    ("obj", "extension", "expected"),
    [
        (np.arange(3.0), ".npz", "npz"),
        (np.arange(3.0), "pkl", "pickle"),
        (pd.DataFrame({"a": [1]}), ".arrow", "arrow"),
        (pd.DataFrame({"a": [1]}), ".feather", "arrow"),
        ({"a": 1}, ".pkl", "pickle"),
        ({"a": 1}, ".JSON", "json"),
    ],
)
def test_extension_name_forces_a_format(obj: object, extension: str, expected: str) -> None:
    assert _chosen(obj, extension) == expected


def test_unknown_extension_lists_the_choices() -> None:
    with pytest.raises(ValueError, match=r"\.csv.*\.npy.*\.npz.*\.pkl"):
        default_registry().candidates(np.arange(3), ".csv")


def test_normalize_extension() -> None:
    assert normalize_extension("PKL") == ".pkl"
    assert normalize_extension(".npz") == ".npz"


# -- reading formats back ---------------------------------------------------------------------------


def test_for_format_finds_the_reader_or_none() -> None:
    registry = default_registry()
    for fmt in ("raw", "zip", "npy", "npz", "parquet", "arrow", "json", "text", "pickle"):
        found = registry.for_format(fmt)
        assert found is not None and found.format == fmt
    assert registry.for_format("no-such-format") is None


class _Point:
    def __init__(self, x: int, y: int) -> None:
        self.x, self.y = x, y


class _PointSerializer(Serializer):
    type_name = "point"
    format = "point-text"
    extensions = (".point",)

    def matches(self, obj: object) -> bool:
        return isinstance(obj, _Point)

    def dump(self, obj: object, path: str) -> None:
        assert isinstance(obj, _Point)
        Path(path).write_text(f"{obj.x},{obj.y}")

    def load(self, path: str) -> _Point:
        x, y = Path(path).read_text().split(",")
        return _Point(int(x), int(y))


def test_with_serializers_puts_them_first_and_leaves_the_original_alone(tmp_path: Path) -> None:
    base = default_registry()
    registry = base.with_serializers([_PointSerializer()])
    assert registry.candidates(_Point(1, 2))[0].format == "point-text"
    assert base.candidates(_Point(1, 2))[0].format == "pickle"
    assert registry.for_format("point-text") is not None and base.for_format("point-text") is None

    store = ArtifactStore(str(tmp_path / "store"), str(tmp_path / "cache"), serializers=registry)
    record = store.upload("t1", "where", _Point(3, 4))
    assert record.format == "point-text" and record.uri.endswith(".point")
    back = store.load(record)
    assert (back.x, back.y) == (3, 4)


def test_a_plain_registry_is_exactly_what_it_was_given() -> None:
    registry = SerializerRegistry([JsonSerializer()])
    assert [s.format for s in registry.serializers] == ["json"]
    assert registry.candidates("text") == []


# -- third-party serializers through entry points ----------------------------------------------------

_PLUGIN = """
from pathlib import Path

from taskmill.artifacts import Serializer


class Celsius(float):
    pass


class CelsiusSerializer(Serializer):
    type_name = "celsius"
    format = "celsius"
    extensions = (".celsius",)

    def matches(self, obj):
        return isinstance(obj, Celsius)

    def dump(self, obj, path):
        Path(path).write_text(repr(float(obj)))

    def load(self, path):
        return Celsius(float(Path(path).read_text()))


def make_json_again():
    from taskmill.artifacts.serializers import JsonSerializer

    return JsonSerializer()  # format 'json' is taken by the built-in one


not_a_serializer = 42
"""


@pytest.fixture
def plugin_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder on ``sys.path`` holding an installed-looking distribution ``tm-demo-plugin``."""
    site = tmp_path / "site"
    (site / "tm_demo_plugin-1.0.dist-info").mkdir(parents=True)
    (site / "tm_demo_plugin.py").write_text(_PLUGIN)
    (site / "tm_demo_plugin-1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: tm-demo-plugin\nVersion: 1.0\n"
    )
    (site / "tm_demo_plugin-1.0.dist-info" / "entry_points.txt").write_text(
        textwrap.dedent(
            f"""\
            [{ENTRY_POINT_GROUP}]
            celsius = tm_demo_plugin:CelsiusSerializer
            clash = tm_demo_plugin:make_json_again
            missing = tm_demo_plugin_gone:Nothing
            wrong = tm_demo_plugin:not_a_serializer
            """
        )
    )
    monkeypatch.syspath_prepend(str(site))
    yield site
    sys.modules.pop("tm_demo_plugin", None)


def test_entry_point_serializers_are_found_lazily_and_used(
    plugin_site: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    registry = default_registry()
    assert "tm_demo_plugin" not in sys.modules  # building a registry reads no entry point
    assert registry.for_format("json") is not None
    assert "tm_demo_plugin" not in sys.modules  # nor does reading a built-in format back

    with caplog.at_level(logging.WARNING, logger="taskmill.artifacts.serializers"):
        assert registry.candidates(2.5)[-1].format == "pickle"  # the first choice reads them
    warnings = [r.getMessage() for r in caplog.records]
    assert "tm_demo_plugin" in sys.modules
    plugin = sys.modules["tm_demo_plugin"]

    assert registry.for_format("celsius") is registry.candidates(plugin.Celsius(0))[0]

    # An artifact store with the default serializers (as every task has) stores it with them.
    store = ArtifactStore(str(tmp_path / "store"), str(tmp_path / "cache"))
    record = store.upload("t1", "temperature", plugin.Celsius(21.5))
    assert record.format == "celsius" and record.type == "celsius" and record.uri.endswith(".celsius")
    back = store.load(record)
    assert isinstance(back, plugin.Celsius) and back == 21.5

    # The broken entry points are skipped, each with a warning naming it; the built-ins stay.
    skipped = sorted(message.split(" = ")[0].rsplit(" ", 1)[-1] for message in warnings)
    assert skipped == ["clash", "missing", "wrong"]
    assert type(registry.for_format("json")) is JsonSerializer
    assert _chosen({"a": 1}) == "json"


def test_entry_points_are_read_once_per_registry(plugin_site: Path) -> None:
    registry = default_registry()
    first = registry.serializers
    (plugin_site / "tm_demo_plugin-1.0.dist-info" / "entry_points.txt").write_text("")
    assert registry.serializers is first
    assert [s.format for s in first][:1] == ["celsius"]


def test_the_loader_skips_formats_already_taken(plugin_site: Path) -> None:
    found = entry_point_serializers([JsonSerializer()])
    assert [s.format for s in found] == ["celsius"]
    found = entry_point_serializers()  # nothing given: the clashing one is a serializer like any
    assert sorted(s.format for s in found) == ["celsius", "json"]


# -- laziness -------------------------------------------------------------------------------------


def test_import_does_not_load_numpy_or_pandas() -> None:
    code = (
        "import sys, taskmill.artifacts\n"
        "store = taskmill.artifacts.ArtifactStore('/tmp/unused', '/tmp/unused-cache')\n"
        "heavy = sorted(m for m in ('numpy', 'pandas', 'pyarrow') if m in sys.modules)\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_choosing_for_plain_objects_does_not_load_numpy_or_pandas() -> None:
    code = (
        "import sys\n"
        "from taskmill.artifacts import default_registry\n"
        "registry = default_registry()\n"
        "for obj in ({'a': 1}, [1], 'text', 3, object()):\n"
        "    registry.candidates(obj)\n"
        "print(','.join(m for m in ('numpy', 'pandas', 'pyarrow') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
