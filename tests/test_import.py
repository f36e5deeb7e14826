"""Lean import, on real interpreters: ``from taskmill import Task`` and ``Task.init`` load only what
they use (requirement parsing, script capture, TOML and framework bindings stay out until needed),
and the script is still recorded, from the background."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

LAZY = [
    "importlib.metadata",
    "packaging",
    "tomllib",
    "taskmill.api.requirements",
    "taskmill.core.requirements",
    "taskmill.api.capture",
    "taskmill.api.binding.hook",
]

PROBE = """
import json, sys
from taskmill import Task
after_import = [m for m in {lazy!r} if m in sys.modules]
task = Task.init(project_name="lean", task_name="lean", auto_connect_frameworks=False)
after_init = [m for m in ["taskmill.api.binding.hook", "taskmill.api.requirements"] if m in sys.modules]
print(json.dumps({{"id": task.id, "after_import": after_import, "after_init": after_init}}))
"""


@pytest.fixture
def home(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "TASKMILL_HOME": str(tmp_path / "home")}
    env.pop("TASKMILL_TASK_ID", None)
    # an existing store: creating one (migrations) is not what this measures
    subprocess.run(
        [sys.executable, "-c", "from taskmill.api.session import PROCESS; PROCESS.session().store"],
        env=env,
        check=True,
    )
    return env


def test_task_import_and_init_load_only_what_they_use(home: dict[str, str], tmp_path: Path) -> None:
    script = tmp_path / "lean.py"
    script.write_text(PROBE.format(lazy=LAZY))
    out = subprocess.run(
        [sys.executable, str(script)], env=home, cwd=tmp_path, capture_output=True, text=True, check=True
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["after_import"] == []
    assert (
        result["after_init"] == []
    )  # no bindings with auto_connect_frameworks=False, no requirement parsing

    # the script and the installed packages were still recorded (by the background capture)
    check = (
        f"from taskmill import Task; info = Task.get_task(task_id={result['id']!r}).get_script_info(); "
        "print(info.entry_point, len(info.requirements.splitlines()))"
    )
    rec = subprocess.run([sys.executable, "-c", check], env=home, capture_output=True, text=True, check=True)
    entry, count = rec.stdout.split()
    assert entry == "lean.py"
    assert int(count) > 0


def test_requirement_controls_still_work_after_the_lazy_import(home: dict[str, str], tmp_path: Path) -> None:
    script = tmp_path / "reqs.py"
    script.write_text(
        "from taskmill import Task\n"
        "Task.add_requirements('leanpkg', '==1.2')\n"
        "task = Task.init(project_name='lean', task_name='reqs')\n"
        "task._join_capture()\n"
        "print(task.id)\n"
    )
    out = subprocess.run(
        [sys.executable, str(script)], env=home, cwd=tmp_path, capture_output=True, text=True, check=True
    )
    task_id = out.stdout.strip().splitlines()[-1]
    check = (
        f"from taskmill import Task; print(Task.get_task(task_id={task_id!r}).get_script_info().requirements)"
    )
    rec = subprocess.run([sys.executable, "-c", check], env=home, capture_output=True, text=True, check=True)
    assert "leanpkg==1.2" in rec.stdout.splitlines()


def test_the_watch_table_matches_what_each_binding_family_defines() -> None:
    # the table lets Task.init watch imports without loading the families; it must not drift
    from taskmill.api.binding.hook import WATCHED, family_bindings

    families = dict.fromkeys(family for _, _, family in WATCHED)
    defined = [(b.key, b.module, family) for family in families for b in family_bindings(family)]
    assert sorted(defined) == sorted(WATCHED)


def test_task_init_with_bindings_on_loads_no_binding_family_for_frameworks_not_imported(
    home: dict[str, str], tmp_path: Path
) -> None:
    script = tmp_path / "bind.py"
    script.write_text(
        "import json, sys\n"
        "from taskmill import Task\n"
        "Task.init(project_name='lean', task_name='bind')\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('taskmill.api.binding.'))))\n"
    )
    out = subprocess.run(
        [sys.executable, str(script)], env=home, cwd=tmp_path, capture_output=True, text=True, check=True
    )
    loaded = set(json.loads(out.stdout.strip().splitlines()[-1]))
    assert "taskmill.api.binding.hook" in loaded  # bindings are on: the import hook is installed
    assert not loaded & {
        f"taskmill.api.binding.{f}" for f in ("pytorch", "boosting", "keras", "tensorboard", "plots")
    }
