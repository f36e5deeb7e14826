"""Finding a recorded script on this machine, and the command that runs it again."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from taskmill.core.model import ScriptInfo, TaskRecord
from taskmill.errors import ExecutionError
from taskmill.runs.scripts import entry_file, git_output, module_of, rerun_command, script_folder


def test_module_entry_points_name_their_module() -> None:
    assert module_of("-m pkg.tool") == "pkg.tool"
    assert module_of("  -m  pkg  ") == "pkg"
    assert module_of("-m ") is None and module_of("train.py") is None


def test_entry_file_of_a_script_a_module_and_a_package(tmp_path: Path) -> None:
    assert entry_file(tmp_path, "sub/train.py") == tmp_path / "sub" / "train.py"
    assert entry_file(tmp_path, "-m pkg.mod") == tmp_path / "pkg" / "mod.py"
    (tmp_path / "pkg" / "app").mkdir(parents=True)
    (tmp_path / "pkg" / "app" / "__main__.py").write_text("")
    assert entry_file(tmp_path, "-m pkg.app") == tmp_path / "pkg" / "app" / "__main__.py"


def test_an_absolute_working_dir_is_used_only_when_the_script_is_there(tmp_path: Path) -> None:
    script = ScriptInfo(entry_point="run.py", working_dir=str(tmp_path))
    assert script_folder(script) is None
    (tmp_path / "run.py").write_text("")
    assert script_folder(script) == tmp_path


def test_a_git_relative_entry_point_is_found_in_the_recorded_checkout(tmp_path: Path) -> None:
    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "etl.py").write_text("")
    script = ScriptInfo(entry_point="jobs/etl.py", working_dir=".", repository="https://example.invalid/x")
    assert script_folder(script, str(tmp_path)) == tmp_path
    assert script_folder(script, str(tmp_path / "elsewhere")) is None


def test_an_installed_module_runs_from_the_first_folder_that_exists(tmp_path: Path) -> None:
    script = ScriptInfo(entry_point="-m json.tool", working_dir=str(tmp_path))
    assert script_folder(script) == tmp_path  # json.tool is installed, not a file in tmp_path
    missing = ScriptInfo(entry_point="-m no_such_module_here", working_dir=str(tmp_path))
    assert script_folder(missing) is None


def test_git_output_is_empty_when_git_fails(tmp_path: Path) -> None:
    assert git_output(["no-such-subcommand"], tmp_path) == ""
    assert git_output(["status"], tmp_path / "missing") == ""  # cannot even start
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    assert Path(git_output(["rev-parse", "--show-toplevel"], tmp_path).strip()) == tmp_path.resolve()


def _run(script: ScriptInfo) -> TaskRecord:
    return TaskRecord(id="r1", name="etl #1", project="p", script=script)


def test_rerun_command_runs_the_script_or_the_module(tmp_path: Path) -> None:
    (tmp_path / "run.py").write_text("")
    assert rerun_command(_run(ScriptInfo(entry_point="run.py", working_dir=str(tmp_path)))) == (
        (sys.executable, "run.py"),
        str(tmp_path),
    )
    (tmp_path / "tool.py").write_text("")
    assert rerun_command(_run(ScriptInfo(entry_point="-m tool", working_dir=str(tmp_path)))) == (
        (sys.executable, "-m", "tool"),
        str(tmp_path),
    )


def test_rerun_command_says_why_the_script_cannot_be_found(tmp_path: Path) -> None:
    with pytest.raises(ExecutionError, match="has no recorded script to re-run"):
        rerun_command(_run(ScriptInfo()))
    remote = ScriptInfo(entry_point="a.py", working_dir=".", repository="https://example.invalid/repo")
    with pytest.raises(ExecutionError, match="run this command from inside a clone of it"):
        rerun_command(_run(remote))
    with pytest.raises(ExecutionError, match="has no absolute working dir"):
        rerun_command(_run(ScriptInfo(entry_point="a.py", working_dir="rel")))
    with pytest.raises(ExecutionError, match=r"a\.py does not exist \(any more\)"):
        rerun_command(_run(ScriptInfo(entry_point="a.py", working_dir=str(tmp_path))))
