"""Task venvs built with uv when it is there, with pip otherwise (and when uv fails)."""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from taskmill import Task
from taskmill.agent.tasklog import TaskLog
from taskmill.agent.venvs import VenvCache, find_uv, pip_settings, uv_options
from taskmill.store.base import TaskStore


def build_tiny_wheel(folder: Path, name: str = "tm_agent_tinypkg") -> Path:
    """A wheel of a one-module package (written by hand: offline, no build backend needed)."""
    dist = name.replace("_", "-")
    files = {
        f"{name}.py": "VALUE = 'from the tiny package'\n",
        f"{name}-0.1.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n",
        f"{name}-0.1.dist-info/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: taskmill-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = [
        f"{path},sha256={base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b'=').decode()},"
        f"{len(text.encode())}"
        for path, text in files.items()
    ]
    files[f"{name}-0.1.dist-info/RECORD"] = "\n".join([*record, f"{name}-0.1.dist-info/RECORD,,"]) + "\n"
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"{name}-0.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path, text in files.items():
            zf.writestr(path, text)
    return wheel


def task_log(store: TaskStore) -> tuple[TaskLog, str]:
    task = Task.create(project_name="venv-tests", task_name="venv")
    return TaskLog(store, task.id), task.id


def logged(store: TaskStore, task_id: str) -> str:
    return "\n".join(line.text for line in store.get_log(task_id))


def imports_tiny(python: Path) -> str:
    proc = subprocess.run(
        [str(python), "-c", "import tm_agent_tinypkg, sys; print(tm_agent_tinypkg.VALUE, sys.prefix)"],
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout.strip()


needs_uv = pytest.mark.skipif(find_uv() is None, reason="uv is not installed (taskmill[agent])")


@needs_uv
def test_uv_builds_the_venv(tmp_path: Path, store: TaskStore) -> None:
    wheel = build_tiny_wheel(tmp_path / "wheels")
    cache = VenvCache(tmp_path, [])
    assert cache.uv == find_uv()
    log, task_id = task_log(store)
    python = cache.ensure([f"tm-agent-tinypkg @ {wheel.as_uri()}"], log)
    log.flush()
    assert (
        imports_tiny(python)
        == f"from the tiny package {cache.path([f'tm-agent-tinypkg @ {wheel.as_uri()}'])}"
    )
    text = logged(store, task_id)
    assert "+ tm-agent-tinypkg==0.1" in text  # uv's own output
    assert "pip" not in text


def test_without_uv_pip_builds_the_same_venv(tmp_path: Path, store: TaskStore) -> None:
    wheel = build_tiny_wheel(tmp_path / "wheels")
    requirements = [f"tm-agent-tinypkg @ {wheel.as_uri()}"]
    cache = VenvCache(tmp_path, [], uv=None)
    assert cache.key(requirements) == VenvCache(tmp_path, []).key(requirements)  # same key either way
    log, task_id = task_log(store)
    python = cache.ensure(requirements, log)
    log.flush()
    assert imports_tiny(python).startswith("from the tiny package")
    assert "uv is not installed (pip install 'taskmill[agent]'): building the virtualenv with pip" in logged(
        store, task_id
    )


def test_a_failing_uv_falls_back_to_pip(tmp_path: Path, store: TaskStore) -> None:
    wheel = build_tiny_wheel(tmp_path / "wheels")
    broken = shutil.which("false")
    assert broken is not None
    cache = VenvCache(tmp_path, [], uv=broken)
    log, task_id = task_log(store)
    python = cache.ensure([f"tm-agent-tinypkg @ {wheel.as_uri()}"], log)
    log.flush()
    assert imports_tiny(python).startswith("from the tiny package")
    text = logged(store, task_id)
    assert "uv cannot create a virtualenv: false exited with code 1" in text
    assert "building the virtualenv with pip instead" in text


def test_pips_settings_are_handed_to_uv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "pip.conf"
    config.write_text(
        "[global]\nextra-index-url = file:///idx/a file:///idx/b\nfind-links = /wheels\n"
        "constraint = /c.txt\ncert = /ca.pem\n[install]\nindex-url = https://mirror.invalid/simple\n"
    )
    monkeypatch.setenv("PIP_CONFIG_FILE", str(config))
    for name in ("PIP_FIND_LINKS", "PIP_EXTRA_INDEX_URL", "PIP_INDEX_URL", "PIP_CERT", "PIP_CONSTRAINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PIP_FIND_LINKS", "/env-wheels")  # the environment wins over the file
    for name in ("UV_INDEX", "UV_DEFAULT_INDEX", "UV_INDEX_URL", "UV_EXTRA_INDEX_URL", "UV_FIND_LINKS"):
        monkeypatch.delenv(name, raising=False)
    settings = pip_settings()
    args, env = uv_options(settings)
    assert args == [
        "--index-url",
        "https://mirror.invalid/simple",
        "--extra-index-url",
        "file:///idx/a",
        "--extra-index-url",
        "file:///idx/b",
        "--find-links",
        "/env-wheels",
        "--constraint",
        "/c.txt",
        "--index-strategy",
        "unsafe-best-match",
    ]
    assert env == {"SSL_CERT_FILE": "/ca.pem"}
    monkeypatch.setenv("UV_INDEX_URL", "https://own.invalid/simple")  # uv configured itself: hands off
    assert uv_options(settings) == ([], {})
