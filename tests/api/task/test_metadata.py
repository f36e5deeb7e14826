"""Describing a task: tags, runtime properties, docker, archive, requirement controls."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from taskmill import Task

from ..conftest import RunScript


def recorded_requirements(run_script: RunScript, project: str, code: str) -> list[str]:
    """Run ``code`` (which calls ``Task.init(project_name=project, ...)``) and return the
    requirements its task recorded."""
    proc = run_script(code)
    assert proc.returncode == 0, proc.stderr
    (task,) = Task.get_tasks(project_name=project)
    return task.get_requirements()


def test_requirement_controls_before_init_shape_the_recorded_requirements(
    run_script: RunScript, tmp_path: Path
) -> None:
    (tmp_path / "extra.txt").write_text("# extras\nscikit-learn>=1.4\nrich  # pretty\n")
    lines = recorded_requirements(
        run_script,
        "reqs",
        f"""
        from taskmill import Task
        Task.add_requirements("torch", "2.13.0")
        Task.add_requirements("httpx")                 # the installed version
        Task.add_requirements({str(tmp_path / "extra.txt")!r})  # every line of a file
        Task.ignore_requirements("cloudpickle")
        task = Task.init(project_name="reqs", task_name="train")
        Task.add_requirements("einops", ">=0.7")        # after init: applied at once
        """,
    )
    assert "torch==2.13.0" in lines and "einops>=0.7" in lines
    assert f"httpx=={metadata.version('httpx')}" in lines
    assert "scikit-learn>=1.4" in lines and "rich" in lines
    assert not any(line.lower().startswith("cloudpickle") for line in lines)
    assert any(line.startswith("taskmill==") for line in lines)  # the freeze is still there


def test_force_requirements_env_freeze_with_a_file_records_that_file(
    run_script: RunScript, tmp_path: Path
) -> None:
    (tmp_path / "req.txt").write_text("numpy==1.26.4\npandas\n")
    code = f"""
        from taskmill import Task
        Task.force_requirements_env_freeze(requirements_file={str(tmp_path / "req.txt")!r})
        Task.init(project_name="frozen", task_name="t")
        """
    assert recorded_requirements(run_script, "frozen", code) == ["numpy==1.26.4", "pandas"]


def test_tags_and_runtime_properties(tm_home: Path) -> None:
    t = Task.create(project_name="p", task_name="x")
    t.add_tags("a")
    t.add_tags(["a", "b"])
    assert t.get_tags() == ["a", "b"]
    t.set_system_tags(["pipeline"])
    assert t.get_system_tags() == ["pipeline"]
    t.set_runtime_properties({"_pipeline_hash": "abc"})
    assert t.get_runtime_properties() == {"_pipeline_hash": "abc"}


def test_docker_archive_and_web_page(tm_home: Path) -> None:
    task = Task.create(project_name="compat", task_name="t1")
    other = Task.create(project_name="compat", task_name="t2")
    task.set_base_docker(
        "nvidia/cuda:12.4", docker_arguments="--ipc=host", docker_setup_bash_script="apt update"
    )
    assert task.get_runtime_properties()["docker"] == {
        "image": "nvidia/cuda:12.4",
        "arguments": ["--ipc=host"],
        "setup_script": ["apt update"],
    }

    other.set_archived(True)
    assert other.get_archived()
    assert [t.id for t in Task.get_tasks(project_name="compat", allow_archived=False)] == [task.id]
    other.set_archived(False)
    assert not other.get_archived()
    assert task.get_output_log_web_page() == ""  # the embedded store has no web page
