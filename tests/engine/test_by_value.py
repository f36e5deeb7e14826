"""Step functions of the user's own modules travel by value; installed ones by reference."""

from __future__ import annotations

import base64
import importlib
import json
import subprocess
import sys
from pathlib import Path

import cloudpickle
import pytest

from taskmill.engine.by_value import by_value, local_module


@pytest.fixture
def user_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    (tmp_path / "my_steps_mod.py").write_text("SCALE = 3\n\ndef step(x):\n    return x * SCALE\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("my_steps_mod")
    yield module
    sys.modules.pop("my_steps_mod", None)


def test_a_local_module_function_runs_where_its_module_cannot_be_imported(
    user_module, tmp_path: Path
) -> None:
    assert local_module(user_module.step) is user_module
    with by_value(user_module.step) as sent_by_value:
        data = cloudpickle.dumps(user_module.step)
    assert sent_by_value
    script = (
        "import base64, sys, cloudpickle\n"
        "f = cloudpickle.loads(base64.b64decode(sys.argv[1]))\n"
        "print(f(14))\n"
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = subprocess.run(
        [sys.executable, "-c", script, base64.b64encode(data).decode()],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "42"
    # by reference (without by_value) the same bytes need the module: the registration was undone
    plain = cloudpickle.dumps(user_module.step)
    failed = subprocess.run(
        [sys.executable, "-c", script, base64.b64encode(plain).decode()],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "No module named 'my_steps_mod'" in failed.stderr


def test_installed_stdlib_and_taskmill_functions_stay_by_reference() -> None:
    from taskmill.engine import steps

    for function in (json.dumps, cloudpickle.dumps, steps.load_function):
        assert local_module(function) is None
        with by_value(function) as sent_by_value:
            assert not sent_by_value
