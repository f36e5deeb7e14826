"""The core install, as `pip install taskmill` gives it: SDK, embedded store, agent and CLI, and
no server stack. A real fresh venv (uv, from the package registry or its cache)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
UV = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")

SCRIPT = """
from taskmill import Task
task = Task.init(project_name="core", task_name="bare")
task.connect({"lr": 0.1})
task.get_logger().report_scalar("loss", "train", value=0.5, iteration=0)
task.close()
print("tracked", task.id)
"""


@pytest.fixture(scope="module")
def core_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    assert UV, "uv is part of the test extra (taskmill[agent])"
    venv = tmp_path_factory.mktemp("core") / "venv"
    subprocess.run([UV, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True, timeout=120)
    # a copy of the source tree: building from the checkout must not write into it
    src = venv.parent / "src"
    shutil.copytree(REPO, src, ignore=shutil.ignore_patterns(".venv", ".git", "site", "*.pyc", ".taskmill*"))
    subprocess.run(
        [UV, "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), str(src)],
        check=True,
        timeout=600,
    )
    return venv


def _env(tmp: Path) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("TASKMILL_", "VIRTUAL_ENV", "PYTHONPATH"))
    }
    env["TASKMILL_HOME"] = str(tmp / "home")
    return env


def test_the_core_install_has_no_server_stack(core_venv: Path) -> None:
    listed = subprocess.run(
        [UV or "uv", "pip", "list", "--python", str(core_venv / "bin" / "python"), "--format", "freeze"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.lower()
    names = {line.split("==")[0] for line in listed.splitlines() if line}
    assert "taskmill" in names
    assert not names & {"fastapi", "uvicorn", "jinja2", "fastapi-swagger", "starlette"}, names


def test_the_core_install_tracks_and_names_the_server_extra(core_venv: Path, tmp_path: Path) -> None:
    env = _env(tmp_path)
    (tmp_path / "train.py").write_text(SCRIPT)
    ran = subprocess.run(
        [str(core_venv / "bin" / "python"), "train.py"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert ran.returncode == 0, ran.stderr
    assert "tracked" in ran.stdout
    shown = subprocess.run(
        [str(core_venv / "bin" / "taskmill"), "tasks", "list"], env=env, capture_output=True, text=True
    )
    assert shown.returncode == 0 and "bare" in shown.stdout, shown.stderr
    for command in (["server"], ["dev"]):
        refused = subprocess.run(
            [str(core_venv / "bin" / "taskmill"), *command], env=env, capture_output=True, text=True
        )
        assert refused.returncode == 1
        assert "pip install 'taskmill[server]'" in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr
