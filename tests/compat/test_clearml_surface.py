"""taskmill's public API against ClearML 2.1.12's, member by member and argument by argument.

ClearML is introspected in a side virtual environment (never installed into taskmill's own): the
one at ``$TASKMILL_CLEARML_VENV`` (default ``<tmp>/clearml-venv``), created with ``python -m venv``
and ``pip install clearml==2.1.12`` when it is missing. Without network that cannot work: the tests
are skipped then, except under ``CI=true``, where a missing ClearML is a failure.

Every ClearML member or argument of the classes in ``surface_dump.CLASSES`` must exist in taskmill
unless ``clearml_differences.toml`` lists it with a reason; every listed member must exist and raise
a taskmill error naming what to use instead (never ``AttributeError``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import pytest

import taskmill
from taskmill.api.unsupported import Unsupported, UnsupportedFeatureError
from taskmill.errors import TaskmillError

HERE = Path(__file__).resolve().parent
DUMP = HERE / "surface_dump.py"
DIFFERENCES = HERE / "clearml_differences.toml"
CLEARML_VERSION = "2.1.12"

Surface = dict[str, dict[str, dict[str, Any]]]


def _venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _has_clearml(python: Path) -> bool:
    if not python.is_file():
        return False
    probe = subprocess.run(
        [str(python), "-c", "import clearml; print(clearml.__version__)"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return probe.returncode == 0 and probe.stdout.strip() == CLEARML_VERSION


def _unavailable(why: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"ClearML {CLEARML_VERSION} side venv unavailable under CI=true: {why}")
    pytest.skip(f"ClearML {CLEARML_VERSION} side venv unavailable: {why}")


@pytest.fixture(scope="session")
def clearml_python() -> Path:
    """The interpreter of a venv with ClearML 2.1.12, created (from the registry) if needed."""
    venv = Path(os.environ.get("TASKMILL_CLEARML_VENV") or Path(tempfile.gettempdir()) / "clearml-venv")
    python = _venv_python(venv)
    if _has_clearml(python):
        return python
    try:
        if not python.is_file():
            subprocess.run(
                [sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=300
            )
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", f"clearml=={CLEARML_VERSION}"],
            check=True,
            capture_output=True,
            timeout=900,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        _unavailable(f"creating {venv} failed: {exc}")
    if not _has_clearml(python):
        _unavailable(f"{venv} has no clearml {CLEARML_VERSION} after installing it")
    return python


def _dump(python: Path | str, library: str, folder: Path) -> Surface:
    target = folder / f"{library}.json"
    subprocess.run([str(python), str(DUMP), library, str(target)], check=True, timeout=300, cwd=folder)
    surface: Surface = json.loads(target.read_text())
    surface.pop("__version__", None)
    return surface


@pytest.fixture(scope="session")
def surfaces(clearml_python: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Surface, Surface]:
    """``(clearml, taskmill)`` member dumps."""
    folder = tmp_path_factory.mktemp("surface")
    return _dump(clearml_python, "clearml", folder), _dump(sys.executable, "taskmill", folder)


def _differences() -> list[dict[str, str]]:
    with DIFFERENCES.open("rb") as handle:
        entries: list[dict[str, str]] = tomllib.load(handle)["missing"]
    for entry in entries:
        assert {"class", "member", "reason", "instead"} <= set(entry), entry
        assert entry["reason"].strip() and entry["instead"].strip(), entry
    return entries


def _listed() -> tuple[set[tuple[str, str]], set[tuple[str, str, str]]]:
    members = {(e["class"], e["member"]) for e in _differences() if "argument" not in e}
    arguments = {(e["class"], e["member"], e["argument"]) for e in _differences() if "argument" in e}
    return members, arguments


def test_no_clearml_member_or_argument_is_missing(surfaces: tuple[Surface, Surface]) -> None:
    clearml, ours = surfaces
    listed_members, listed_arguments = _listed()
    problems = []
    for cls, clearml_members in sorted(clearml.items()):
        for name, info in sorted(clearml_members.items()):
            mine = ours[cls].get(name)
            if mine is None:
                problems.append(f"{cls}.{name} is missing")
                continue
            if (cls, name) in listed_members:
                continue
            if info["params"] is not None and mine["params"] is not None:
                for argument in info["params"]:
                    if argument not in mine["params"] and (cls, name, argument) not in listed_arguments:
                        problems.append(f"{cls}.{name}({argument}=) is missing")
    assert not problems, (
        "ClearML members/arguments missing in taskmill (add them, or list them with a reason in "
        f"{DIFFERENCES.name}):\n" + "\n".join(problems)
    )


def test_the_list_names_only_what_clearml_has(surfaces: tuple[Surface, Surface]) -> None:
    clearml, ours = surfaces
    for entry in _differences():
        cls, member = entry["class"], entry["member"]
        assert member in clearml[cls], (
            f"{cls}.{member} is listed but ClearML {CLEARML_VERSION} has no such member"
        )
        if "argument" in entry:
            assert entry["argument"] in (clearml[cls][member]["params"] or []), entry
            assert entry["argument"] not in (ours[cls][member]["params"] or []), (
                f"{entry}: taskmill has it now"
            )


@pytest.mark.parametrize(
    ("cls_name", "member", "instead"),
    [(e["class"], e["member"], e["instead"]) for e in _differences() if "argument" not in e],
)
def test_a_listed_member_raises_a_taskmill_error_with_a_hint(
    cls_name: str, member: str, instead: str
) -> None:
    cls = getattr(taskmill, cls_name)
    declared = next((vars(k)[member] for k in cls.__mro__ if member in vars(k)), None)
    assert isinstance(declared, Unsupported), f"{cls_name}.{member} must be declared with unsupported(...)"
    with pytest.raises(TaskmillError) as caught:
        if declared.attribute:
            declared.__get__(object(), cls)  # reading it from an instance
        else:
            getattr(cls, member)("any", argument=1)
    assert isinstance(caught.value, UnsupportedFeatureError) and not isinstance(caught.value, AttributeError)
    message = str(caught.value)
    assert f"{cls_name}.{member}" in message and instead in message, message
