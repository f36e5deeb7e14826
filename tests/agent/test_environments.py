"""Task environments: a git checkout at the recorded commit with its diff, and cached virtualenvs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from taskmill import Task
from taskmill.core.states import TaskStatus
from taskmill.store.base import TaskStore
from tests.agent.conftest import Agents, enqueue, log_text, record, script_task, write
from tests.agent.test_venvs import build_tiny_wheel

SCRIPT = """
import os, sys
VERSION = "{version}"
print("running version", VERSION, "in", os.getcwd())
open(os.environ["OUT"], "w").write(VERSION)
"""


def git(repo: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout.strip()


def test_git_task_runs_its_commit_with_its_diff(tmp_path: Path, agents: Agents, store: TaskStore) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    script = write(repo / "src" / "job.py", SCRIPT.format(version="committed"))
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "first")
    commit = git(repo, "rev-parse", "HEAD")
    write(script, SCRIPT.format(version="diffed"))  # uncommitted: recorded as the task's diff
    task = Task.create(project_name="agent-tests", task_name="git job", script=str(script))
    info = task.get_script_info()
    assert (info.repository, info.commit, info.entry_point) == (str(repo), commit, "src/job.py")
    assert "diffed" in info.diff
    write(script, SCRIPT.format(version="later"))  # the repo moves on: the task must not see it
    git(repo, "commit", "-qam", "second")

    out = tmp_path / "out.txt"
    enqueue(task)
    result = agents.run("-q", "default", "--burst", env={"OUT": str(out)})
    assert result.returncode == 0, result.stderr
    assert record(store, task).status == TaskStatus.completed, log_text(store, task)
    assert out.read_text() == "diffed"
    log = log_text(store, task)
    assert f"checked out {repo} at {commit[:12]}" in log and "applied the task's uncommitted changes" in log
    work = agents.home / "agent" / "work" / task.id
    assert f"in {work}" in log  # ran in the checkout ...
    assert not work.exists()  # ... which is removed afterwards

    bad = Task.clone(task)
    bad.set_script(diff="--- a/nothing.py\n+++ b/nothing.py\n@@ -1 +1 @@\n-x\n+y\n")
    enqueue(bad)
    assert agents.run("-q", "default", "--burst").returncode == 0
    failed = record(store, bad)
    assert failed.status == TaskStatus.failed
    assert failed.status_message.startswith(
        "environment build failed: the task's uncommitted changes do not apply"
    )
    assert "nothing.py" in log_text(store, bad)  # git's own error is in the log


@pytest.fixture(scope="module")
def tiny_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel of a one-module package the agent's environment does not have."""
    return build_tiny_wheel(tmp_path_factory.mktemp("wheels"))


USES_TINY = """
import os, sys
import tm_agent_tinypkg
open(os.environ["TASKMILL_TASK_ID"] + ".out", "w").write(tm_agent_tinypkg.VALUE + "|" + sys.prefix)
"""


def test_venv_is_built_once_and_reused(
    tmp_path: Path, agents: Agents, store: TaskStore, tiny_wheel: Path
) -> None:
    requirement = f"tm-agent-tinypkg @ {tiny_wheel.as_uri()}"
    script = write(tmp_path / "uses_tiny.py", USES_TINY)
    first = script_task(script, "first")
    first.set_packages([requirement, "taskmill==0.0.0", "pip==1.0"])  # taskmill and pip are ignored
    second = Task.clone(first, name="second")
    enqueue(first)
    assert agents.run("-q", "default", "--burst", timeout=300).returncode == 0
    assert record(store, first).status == TaskStatus.completed, log_text(store, first)
    value, prefix = (tmp_path / f"{first.id}.out").read_text().split("|")
    assert value == "from the tiny package"
    venv = Path(prefix)
    assert venv.parent == agents.home / "agent" / "venvs"
    assert "creating a virtualenv" in log_text(store, first)
    marker = venv / ".taskmill-ready"
    built = marker.stat().st_mtime_ns

    enqueue(second)
    assert agents.run("-q", "default", "--burst", timeout=120).returncode == 0
    assert record(store, second).status == TaskStatus.completed, log_text(store, second)
    assert (tmp_path / f"{second.id}.out").read_text().split("|")[1] == prefix
    assert "reusing the virtualenv" in log_text(store, second)
    assert marker.stat().st_mtime_ns == built  # not re-created


def test_uninstallable_requirements_fail_the_task_with_pips_error(
    tmp_path: Path, agents: Agents, store: TaskStore
) -> None:
    missing = (tmp_path / "no-such-1.0-py3-none-any.whl").as_uri()
    task = script_task(write(tmp_path / "never.py", "print('must not run')\n"))
    task.set_packages([f"no-such @ {missing}"])
    enqueue(task)
    assert agents.run("-q", "default", "--burst", timeout=120).returncode == 0
    failed = record(store, task)
    assert failed.status == TaskStatus.failed
    assert failed.status_message.startswith(
        "environment build failed: cannot install the task's packages: pip"
    )
    log = log_text(store, task)
    assert "no-such-1.0-py3-none-any.whl" in log and "must not run" not in log
    assert not list(
        (agents.home / "agent" / "venvs").glob("*/.taskmill-ready")
    )  # the half-built venv is gone


PRINTS_PREFIX = """
import os, sys
open(os.environ["TASKMILL_TASK_ID"] + ".out", "w").write(sys.prefix)
"""


def test_requirements_not_applying_here_run_in_the_agents_environment(
    tmp_path: Path, agents: Agents, store: TaskStore
) -> None:
    task = script_task(write(tmp_path / "here.py", PRINTS_PREFIX))
    task.set_packages(
        [
            'tomli; python_version < "3.11"',
            'tm-surely-absent-pkg; python_version < "3.0"',  # a marker false everywhere we run
            f"--find-links {tmp_path.as_uri()}",  # an installer option, nothing to check
        ]
    )
    enqueue(task)
    assert agents.run("-q", "default", "--burst", timeout=120).returncode == 0
    assert record(store, task).status == TaskStatus.completed, log_text(store, task)
    assert "virtualenv" not in log_text(store, task)
    assert Path((tmp_path / f"{task.id}.out").read_text()) == Path(sys.prefix)


@pytest.mark.parametrize("requirement", ["numpy<2", "numpy>=3", "numpy~=1.26"])
def test_version_ranges_the_agent_does_not_meet_mean_a_virtualenv(
    tmp_path: Path, agents: Agents, store: TaskStore, requirement: str
) -> None:
    numpy = pytest.importorskip("numpy")
    assert numpy.__version__.startswith("2.")
    task = script_task(write(tmp_path / "old_numpy.py", "print('must not run')\n"))
    # --no-index: the build fails at once instead of downloading an old numpy
    task.set_packages(["--no-index", requirement])
    enqueue(task)
    assert agents.run("-q", "default", "--burst", timeout=120).returncode == 0
    failed = record(store, task)
    log = log_text(store, task)
    assert f"this agent's environment lacks {requirement}:" in log
    assert failed.status == TaskStatus.failed
    assert failed.status_message.startswith("environment build failed: cannot install the task's packages")
