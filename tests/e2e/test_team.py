"""Issue 5 end to end, as a team would run it: a server on PostgreSQL with S3 artifacts, agents for
``services`` and ``default`` in their own processes, example pipelines run remotely, one aborted
and resumed, one re-run with a changed parameter from the CLI. Every part is a real process."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from taskmill.core.states import TaskStatus
from taskmill.store.base import TaskFilter
from taskmill.store.http import HttpTaskStore
from tests.plugins.s3 import S3Server
from tests.processes import Processes, free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TASKMILL = str(BIN / "taskmill")

SLEEPY = """
import sys
from pathlib import Path
from taskmill import PipelineController

def first(n):
    return list(range(n))

def wait_for_gate(values, gate):
    import time
    from pathlib import Path
    deadline = time.time() + 120
    while not Path(gate).exists() and time.time() < deadline:
        time.sleep(0.05)
    return sum(values)

pipe = PipelineController(name="sleepy", project="team")
pipe.add_parameter("n", 4)
pipe.add_parameter("gate", "")
pipe.add_function_step("first", first, function_kwargs={"n": "${pipeline.n}"}, function_return="v")
pipe.add_function_step("gated", wait_for_gate, function_return="total",
                       function_kwargs={"values": "${first.v}", "gate": "${pipeline.gate}"})
pipe.set_default_execution_queue("default")
pipe.start(queue="services")
"""


@dataclass
class Team:
    url: str
    key: str
    env: dict[str, str]
    store: HttpTaskStore
    s3: S3Server

    def run(self, *args: str, cwd: Path = ROOT, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(args), cwd=cwd, env=self.env, capture_output=True, text=True, timeout=timeout
        )

    def wait(self, predicate: Callable[[], bool], timeout: float = 90.0) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if predicate():
                return
            time.sleep(0.2)
        raise AssertionError("condition not reached in time")

    def runs(self, project: str) -> list[object]:
        return list(self.store.find_tasks(TaskFilter(project=project, system_tags=("pipeline",))))


def _env(home: Path, extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TASKMILL_", "AWS_"))}
    env.update({"TASKMILL_HOME": str(home), **extra})
    return env


@pytest.fixture
def team(pg_url: str, s3_server: S3Server, tmp_path: Path) -> Iterator[Team]:
    procs = Processes(tmp_path)
    server_env = _env(tmp_path / "server-home", s3_server.env)
    key = (
        subprocess.run(
            [TASKMILL, "server", "create-key", "--name", "team", "--store", pg_url],
            env=server_env,
            capture_output=True,
            text=True,
            check=True,
        )
        .stdout.strip()
        .splitlines()[0]
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    procs.start(
        "server",
        [
            TASKMILL,
            "server",
            "--port",
            str(port),
            "--store",
            pg_url,
            "--artifacts",
            s3_server.url("taskmill"),
        ],
        server_env,
    )
    client = {"TASKMILL_STORE": url, "TASKMILL_API_KEY": key, **s3_server.env}
    store = HttpTaskStore(url, key)
    deadline = time.time() + 30
    while True:
        try:
            store.last_event_id()
            break
        except Exception:
            if time.time() > deadline:
                raise
            time.sleep(0.2)
    for name, args in (
        ("services", ["--queue", "services", "--services-mode"]),
        ("default", ["--queue", "default"]),
    ):
        procs.start(
            f"agent-{name}",
            [TASKMILL, "agent", *args, "--create-queue", "--id", f"agent-{name}"],
            _env(tmp_path / f"agent-{name}", client),
        )
    team = Team(url, key, _env(tmp_path / "client-home", client), store, s3_server)
    team.wait(lambda: {w.id for w in store.list_workers()} >= {"agent-services", "agent-default"}, 30)
    try:
        yield team
    finally:
        procs.stop()
        store.close()


def test_team_runs_remote_pipelines(team: Team, tmp_path: Path) -> None:
    # 1. a decorated example pipeline, run remotely: the client exits at once, agents do the work
    proc = team.run(sys.executable, "examples/pipeline_from_decorator.py", "--mode", "remote")
    assert proc.returncode == 0 and "goes to queue 'services'" in proc.stdout, proc.stdout + proc.stderr
    (run,) = team.runs("examples/.pipelines/pipeline from decorator")
    team.wait(lambda: team.store.get_task(run.id).status.is_final)  # type: ignore[attr-defined]
    final = team.store.get_task(run.id)  # type: ignore[attr-defined]
    log = "\n".join(line.text for line in team.store.get_log(final.id))
    assert final.status == TaskStatus.completed, f"{final.status_message}\n{log}"
    nodes = dict(team.store.get_nodes(final.id))
    assert {n["status"] for n in nodes.values()} == {"completed"}
    workers = {team.store.get_task(str(n["job_id"])).worker for n in nodes.values()}
    assert workers == {"agent-default"}  # steps ran on the default agent, not here
    art = team.store.get_artifacts(str(nodes["step_one"]["job_id"]))[0]
    assert art.uri.startswith(team.s3.url("taskmill"))  # artifacts went straight to S3

    # 2. a pipeline aborted from the CLI while a step runs, then resumed on the agents
    gate = tmp_path / "gate"
    script = tmp_path / "sleepy.py"
    script.write_text(
        textwrap.dedent(SLEEPY).replace(
            'pipe.add_parameter("gate", "")', f'pipe.add_parameter("gate", "{gate}")'
        )
    )
    assert team.run(sys.executable, str(script), cwd=tmp_path).returncode == 0
    (sleepy,) = team.runs("team/.pipelines/sleepy")
    run_id = sleepy.id  # type: ignore[attr-defined]
    team.wait(lambda: dict(team.store.get_nodes(run_id)).get("gated", {}).get("status") == "running")
    first_task = dict(team.store.get_nodes(run_id))["first"]["job_id"]
    aborted = team.run(TASKMILL, "pipelines", "abort", run_id)
    assert aborted.returncode == 0, aborted.stdout + aborted.stderr
    try:
        team.wait(lambda: team.store.get_task(run_id).status == TaskStatus.stopped, 30)
    except AssertionError:
        rec = team.store.get_task(run_id)
        log = "\n".join(line.text for line in team.store.get_log(run_id))
        detail = f"{aborted.stdout}{aborted.stderr}\n{rec.status} {rec.status_message}\n{log}"
        raise AssertionError(detail) from None
    gated_task = str(dict(team.store.get_nodes(run_id))["gated"]["job_id"])
    team.wait(lambda: team.store.get_task(gated_task).status == TaskStatus.stopped, 30)

    gate.touch()
    resumed = team.run(TASKMILL, "pipelines", "resume", run_id, "--queue", "services")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    team.wait(lambda: team.store.get_task(run_id).status == TaskStatus.completed)
    nodes = dict(team.store.get_nodes(run_id))
    assert nodes["first"]["job_id"] == first_task  # kept, never re-run
    assert team.store.get_param_dict(str(nodes["gated"]["job_id"]))["return/total"] == 6

    # 3. a new run of it with a changed parameter, from the CLI, on the agents
    again = team.run(TASKMILL, "pipelines", "new-run", run_id, "--param", "n=6", "--queue", "services")
    assert again.returncode == 0, again.stdout + again.stderr
    team.wait(
        lambda: any(
            r.name == "sleepy #2" and r.status == TaskStatus.completed  # type: ignore[attr-defined]
            for r in team.runs("team/.pipelines/sleepy")
        )
    )
    second = next(r for r in team.runs("team/.pipelines/sleepy") if r.name == "sleepy #2")  # type: ignore[attr-defined]
    gated = dict(team.store.get_nodes(second.id))["gated"]  # type: ignore[attr-defined]
    assert team.store.get_param_dict(str(gated["job_id"]))["return/total"] == 15
