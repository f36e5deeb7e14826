"""Pipelines as real users run them: scripts, task steps, local imports, nesting, kill and resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from taskmill import Task
from taskmill.store.base import TaskFilter, TaskStore


def write(path: Path, code: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(code))
    return path


def run_script(
    path: Path, home: Path, *args: str, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if k != "TASKMILL_TASK_ID"}
    full.update({"TASKMILL_HOME": str(home), **(env or {})})
    proc = subprocess.run(
        [sys.executable, str(path), *args],
        cwd=path.parent,
        env=full,
        capture_output=True,
        text=True,
        timeout=180,
    )
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def run_pipeline(script: Path, home: Path, marker: str = "RUN") -> str:
    """Run a pipeline script that prints ``<marker> <run id> <is_successful()>``; returns the run id
    after checking the run succeeded."""
    proc = run_script(script, home)
    assert "True" in proc.stdout.split(marker)[-1], proc.stdout + proc.stderr
    return proc.stdout.split(f"{marker} ")[-1].split()[0]


def commit_all(repo: Path) -> None:
    """``git init`` ``repo`` (if needed) and commit everything in it."""
    git = ["git", "-c", "user.email=t@e", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q", "-b", "main", str(repo)], check=True)
    subprocess.run([*git, "add", "."], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "init"], cwd=repo, check=True)


STEP_SCRIPT = """
from taskmill import Task
task = Task.init(project_name="steps", task_name="{name}")
args = task.connect({{"value": 1, "note": "default"}})
print("{name} got", args["value"], args["note"])
task.upload_artifact("result", {{"value": args["value"] * 10}})
"""


def test_pipeline_from_tasks(tm_home: Path, tmp_path: Path, store: TaskStore) -> None:
    for name in ("step1", "step2"):
        write(tmp_path / f"{name}.py", STEP_SCRIPT.format(name=name))
        run_script(tmp_path / f"{name}.py", tm_home)
    controller = write(
        tmp_path / "pipe.py",
        """
        from taskmill import PipelineController
        pipe = PipelineController(name="from tasks", project="steps")
        pipe.add_parameter("start", 4)
        pipe.add_step("stage1", base_task_project="steps", base_task_name="step1",
                      parameter_override={"General/value": "${pipeline.start}"})
        pipe.add_step("stage2", base_task_project="steps", base_task_name="step2",
                      parameter_override={"General/value": 7, "General/note": "from ${stage1.id}"},
                      cache_executed_step=True)
        pipe.start_locally(run_pipeline_steps_locally=True)
        print("RUN", pipe.id, pipe.is_successful())
    """,
    )
    run_id = run_pipeline(controller, tm_home)
    steps = {t.name: t for t in store.find_tasks(TaskFilter(parent=run_id))}
    stage1 = Task.get_task(task_id=steps["stage1"].id)
    assert stage1.get_parameters()["General/value"] == 4  # the override reached the script's connect()
    assert stage1.artifacts["result"].get() == {"value": 40}
    stage2 = Task.get_task(task_id=steps["stage2"].id)
    assert stage2.get_parameters()["General/note"] == f"from {stage1.id}"
    assert any("stage2" not in line and "got 7 from" in line for line in stage2.get_reported_console_output())
    # the base tasks themselves were not touched
    base = Task.get_task(project_name="steps", task_name="step1")
    assert base.get_parameters()["General/value"] == 1


def test_local_imports_work_in_every_mode(tm_home: Path, tmp_path: Path) -> None:
    write(tmp_path / "mylib.py", "def triple(x):\n    return 3 * x\n")
    script = write(
        tmp_path / "pipe.py",
        """
        import sys
        from taskmill import PipelineController

        def step(x):
            import mylib
            return mylib.triple(x)

        if __name__ == "__main__":
            pipe = PipelineController(name="imports", project="tests")
            pipe.add_function_step("s", step, function_kwargs={"x": 5}, function_return="r")
            if sys.argv[1] == "debug":
                pipe.debug_pipeline()
            else:
                pipe.start_locally(run_pipeline_steps_locally=True)
            from taskmill import Task
            job = pipe.get_pipeline_dag()["s"].job_id
            print("RESULT", Task.get_task(task_id=job).get_parameters()["return/r"])
    """,
    )
    for mode in ("debug", "process"):
        proc = run_script(script, tm_home, mode, check=False)
        assert "RESULT 15" in proc.stdout, proc.stdout + proc.stderr


def test_nested_pipeline_as_a_step(tm_home: Path, tmp_path: Path, store: TaskStore) -> None:
    inner = write(
        tmp_path / "inner.py",
        """
        from taskmill import PipelineController
        def mul(a, b):
            return a * b
        if __name__ == "__main__":
            pipe = PipelineController(name="inner", project="nest")
            pipe.add_parameter("a", 2)
            pipe.add_function_step("mul", mul, function_kwargs={"a": "${pipeline.a}", "b": 5},
                                   function_return="r")
            pipe.start_locally(run_pipeline_steps_locally=True)
            print("INNER", pipe.id)
    """,
    )
    proc = run_script(inner, tm_home)
    inner_run = proc.stdout.split("INNER ")[-1].split()[0]
    outer = write(
        tmp_path / "outer.py",
        f"""
        from taskmill import PipelineController
        pipe = PipelineController(name="outer", project="nest")
        pipe.add_step("sub", base_task_id="{inner_run}", parameter_override={{"Args/a": 7}})
        pipe.start_locally(run_pipeline_steps_locally=True)
        print("OUTER", pipe.id, pipe.is_successful())
    """,
    )
    outer_run = run_pipeline(outer, tm_home, "OUTER")
    (sub,) = store.find_tasks(TaskFilter(parent=outer_run))
    assert sub.status.value == "completed" and "pipeline" in sub.system_tags
    (mul,) = store.find_tasks(TaskFilter(parent=sub.id))
    assert store.get_param_dict(mul.id)["return/r"] == 35  # the nested run used the override


RESUMABLE = """
import sys, time
from pathlib import Path
from taskmill import PipelineController

def first(x):
    Path(sys.argv[1], "first-runs").open("a").write("x\\n")
    return x + 1

def second(y):
    gate = Path(sys.argv[1], "gate")
    if not gate.exists():
        time.sleep(60)  # the test kills the controller meanwhile
    return y * 2

def third(z):
    return z + 100

if __name__ == "__main__":
    pipe = PipelineController(name="resumable", project="tests")
    pipe.add_parameter("x", 1)
    pipe.add_function_step("first", first, function_kwargs={"x": "${pipeline.x}"}, function_return="r")
    pipe.add_function_step("second", second, function_kwargs={"y": "${first.r}"}, function_return="r")
    pipe.add_function_step("third", third, function_kwargs={"z": "${second.r}"}, function_return="r")
    pipe.start_locally(run_pipeline_steps_locally=True)
    print("DONE", pipe.id, pipe.is_successful())
"""


def _wait_for(predicate: object, timeout: float = 30.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError("condition not reached in time")


def test_killed_controller_resumes_without_rerunning_completed_steps(
    tm_home: Path, tmp_path: Path, store: TaskStore
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    script = write(tmp_path / "resumable.py", RESUMABLE)
    env = {**os.environ, "TASKMILL_HOME": str(tm_home)}
    env.pop("TASKMILL_TASK_ID", None)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(work)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    runs: list[str] = []

    def second_running() -> bool:
        runs[:] = [r.id for r in store.find_tasks(TaskFilter(project="tests/.pipelines/resumable"))]
        return bool(runs) and dict(store.get_nodes(runs[0])).get("second", {}).get("status") == "running"

    _wait_for(second_running)
    run_id = runs[0]
    first_task = dict(store.get_nodes(run_id))["first"]["job_id"]
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    (work / "gate").touch()
    # resume as the CLI does: re-run the script attached to the run
    resumed = run_script(script, tm_home, str(work), env={"TASKMILL_TASK_ID": run_id, "TASKMILL_RESUME": "1"})
    assert f"DONE {run_id} True" in resumed.stdout, resumed.stdout + resumed.stderr
    nodes = dict(store.get_nodes(run_id))
    assert nodes["first"]["job_id"] == first_task  # kept, never re-run
    assert (work / "first-runs").read_text().count("x") == 1
    assert nodes["second"]["status"] == "completed" and nodes["third"]["status"] == "completed"
    assert store.get_task(run_id).status.value == "completed"
    second_tasks = [t for t in store.find_tasks(TaskFilter(parent=run_id)) if t.name == "second"]
    assert sorted(t.status.value for t in second_tasks) == [
        "completed",
        "stopped",
    ]  # interrupted, then re-run
    assert store.get_param_dict(nodes["third"]["job_id"])["return/r"] == 104


def test_resume_from_python_after_failure(tm_home: Path, tmp_path: Path, store: TaskStore) -> None:
    from taskmill import PipelineController

    from . import steps_lib as lib

    marker = str(tmp_path / "marker")

    def build() -> PipelineController:
        p = PipelineController(name="py-resume", project="tests")
        p.add_function_step("ok", lib.make_numbers, function_kwargs={"n": 3}, function_return="v")
        p.add_function_step(
            "flaky",
            lib.fail_until,
            function_kwargs={"marker": marker, "value": 9},
            parents=["ok"],
            function_return="v",
        )
        return p

    first = build()
    first.debug_pipeline()
    assert not first.is_successful()
    ok_task = first.get_pipeline_dag()["ok"].job_id
    Path(marker).touch()
    again = build()
    again.debug_pipeline(resume=first.id)
    assert again.id == first.id and again.is_successful()
    assert again.get_pipeline_dag()["ok"].job_id == ok_task
    assert store.get_task(first.id).status.value == "completed"
    with pytest.raises(Exception, match="nothing to resume"):
        build().debug_pipeline(resume=first.id)


def test_resume_with_recompute_reruns_named_steps_and_descendants(tm_home: Path, tmp_path: Path) -> None:
    from taskmill import PipelineController

    from . import steps_lib as lib

    marker = str(tmp_path / "marker")

    def build() -> PipelineController:
        p = PipelineController(name="recompute-resume", project="tests")
        p.add_function_step("a", lib.make_numbers, function_kwargs={"n": 3}, function_return="v")
        p.add_function_step("b", lib.total, function_kwargs={"values": "${a.v}"}, function_return="t")
        p.add_function_step("flaky", lib.fail_until, function_kwargs={"marker": marker}, parents=["b"])
        return p

    first = build()
    first.debug_pipeline()
    old = {n: first.get_pipeline_dag()[n].job_id for n in ("a", "b")}
    Path(marker).touch()
    again = build()
    again.debug_pipeline(resume=first.id, recompute=["b"])
    dag = again.get_pipeline_dag()
    assert dag["a"].job_id == old["a"]  # kept
    assert dag["b"].job_id != old["b"] and dag["b"].status.value == "completed"  # recomputed
    assert again.is_successful()


def test_task_steps_run_in_a_clone_whose_origin_is_a_local_bare_repo(
    tm_home: Path, tmp_path: Path, store: TaskStore
) -> None:
    """`git clone /srv/repo.git work`: the recorded repository is a local folder with no files in it.

    Steps and resume must run the scripts from the clone the task was recorded in, not from that folder.
    """
    seed = tmp_path / "seed"
    write(seed / "jobs" / "step1.py", STEP_SCRIPT.format(name="step1"))
    write(
        seed / "jobs" / "pipe.py",
        """
        from taskmill import PipelineController
        pipe = PipelineController(name="from clone", project="steps")
        pipe.add_step("stage1", base_task_project="steps", base_task_name="step1",
                      parameter_override={"General/value": 3})
        pipe.start_locally(run_pipeline_steps_locally=True)
        print("RUN", pipe.id, pipe.is_successful())
        """,
    )
    commit_all(seed)
    bare = tmp_path / "repo.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(seed), str(bare)], check=True)
    clone = tmp_path / "work"
    subprocess.run(["git", "clone", "-q", str(bare), str(clone)], check=True)

    run_script(clone / "jobs" / "step1.py", tm_home)
    proc = run_script(clone / "jobs" / "pipe.py", tm_home)
    assert "True" in proc.stdout.split("RUN")[-1], proc.stdout + proc.stderr
    run_id = proc.stdout.split("RUN ")[-1].split()[0]
    run = store.get_task(run_id)
    assert run.script.repository == str(bare) and run.script.entry_point == "jobs/pipe.py"
    (stage1,) = store.find_tasks(TaskFilter(parent=run_id))
    assert Task.get_task(task_id=stage1.id).artifacts["result"].get() == {"value": 30}

    from taskmill.api.capture import script_folder

    assert script_folder(run.script, str(run.runtime.get("script_root") or "")) == clone
    assert script_folder(run.script) is None  # the bare repository has no working files


def test_a_task_started_with_python_m_runs_as_a_module_step(
    tm_home: Path, tmp_path: Path, store: TaskStore
) -> None:
    """`python -m pkg.train` is recorded as entry point `-m pkg.train` and re-run as a module, so
    the package's absolute imports work in the step."""
    repo = tmp_path / "proj"
    write(repo / "pkg" / "__init__.py", "")
    write(repo / "pkg" / "helper.py", "def double(x):\n    return 2 * x\n")
    write(
        repo / "pkg" / "train.py",
        """
        from pkg.helper import double
        from taskmill import Task
        task = Task.init(project_name="modules", task_name="train")
        args = task.connect({"x": 2})
        print("RESULT", double(args["x"]))
        """,
    )
    commit_all(repo)
    env = {k: v for k, v in os.environ.items() if k != "TASKMILL_TASK_ID"}
    env["TASKMILL_HOME"] = str(tm_home)
    first = subprocess.run(
        [sys.executable, "-m", "pkg.train"], cwd=repo, env=env, capture_output=True, text=True, timeout=120
    )
    assert first.returncode == 0 and "RESULT 4" in first.stdout, first.stderr
    (base,) = store.find_tasks(TaskFilter(project="modules"))
    assert base.script.entry_point == "-m pkg.train" and base.script.working_dir == "."

    controller = write(
        tmp_path / "pipe.py",
        """
        from taskmill import PipelineController
        pipe = PipelineController(name="module steps", project="modules")
        pipe.add_step("train5", base_task_project="modules", base_task_name="train",
                      parameter_override={"General/x": 5})
        pipe.start_locally(run_pipeline_steps_locally=True)
        print("RUN", pipe.id, pipe.is_successful())
        """,
    )
    run_id = run_pipeline(controller, tm_home)
    (step,) = store.find_tasks(TaskFilter(parent=run_id))
    assert any("RESULT 10" in line for line in Task.get_task(task_id=step.id).get_reported_console_output())
