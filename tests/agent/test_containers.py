"""An agent running each task in a container of its image (``taskmill.agent.containers``), on a
real engine: podman (or docker) runs an image imported here, with the host's Python and this
checkout mounted in (no registry is reachable from CI machines)."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from taskmill import Task
from taskmill.agent.containers import ContainerOptions, container_argv
from taskmill.core.model import TaskRecord
from taskmill.core.states import TaskStatus
from taskmill.errors import ExecutionError
from taskmill.store.base import TaskStore
from tests.agent.conftest import Agents, enqueue, log_text, record, script_task, wait_for, write

IMAGE = "localhost/taskmill-test-host:1"
ROOT = Path(__file__).resolve().parents[2]
#: what this kind of machine (a VM with hybrid cgroups, low rlimits) needs for podman to run
ENGINE_ARGS = ("--runtime", "runc", "--cgroup-manager=cgroupfs")
ENGINE_ARGS += ("--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024")

AGENT = """
import logging, sys
from pathlib import Path
from taskmill.agent import Agent, AgentOptions
from taskmill.agent.containers import ContainerOptions
from taskmill.config import Settings
from taskmill.store.factory import open_store

logging.basicConfig(level=logging.INFO, stream=sys.stderr)
settings = Settings.from_env()
engine, image, *arguments = sys.argv[1:]
options = AgentOptions(
    queues=("default",), worker_id="ctr-agent", cache_dir=settings.home / "agent",
    child_env=settings.to_env(), burst=True,
    containers=ContainerOptions(engine=engine, image=image, arguments=tuple(arguments)),
)
store = open_store(settings.store_url, None)
sys.exit(Agent(store, options).run())
"""

SHOW = """
import os
from taskmill import Task
Task.init()
print("IN_CONTAINER=" + str(os.path.exists("/run/.containerenv") or os.path.exists("/.dockerenv")))
print("FROM_TASK=" + os.environ.get("FROM_TASK", "-"), "FROM_SETUP=" + os.environ.get("FROM_SETUP", "-"))
"""


def _engine() -> str | None:
    for name in ("podman", "docker"):
        path = shutil.which(name)
        if path is None:
            continue
        probe = subprocess.run(
            [path, "run", "--rm", *ENGINE_ARGS, "--rootfs", "/:O", "true"], capture_output=True, timeout=120
        )
        if probe.returncode == 0:
            return path
    return None


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A container engine that runs containers here, with :data:`IMAGE` imported."""
    found = _engine()
    if found is None:
        pytest.skip("no container engine can run a container here (apt-get install podman runc)")
    rootfs = tmp_path_factory.mktemp("rootfs")
    for folder in ("usr", "etc", "tmp", "root", "proc", "sys", "dev", "run", "var/tmp"):
        (rootfs / folder).mkdir(parents=True)
    for link in ("bin", "lib", "lib64", "sbin"):  # a merged-/usr Debian: the host's /usr is mounted in
        (rootfs / link).symlink_to(f"usr/{link}")
    tar = rootfs.parent / "rootfs.tar"
    with tarfile.open(tar, "w") as out:
        out.add(rootfs, arcname=".")
    subprocess.run([found, "import", str(tar), IMAGE], check=True, capture_output=True, timeout=120)
    yield found
    subprocess.run([found, "rmi", "-f", IMAGE], capture_output=True, timeout=120)


def _mounts(tmp_path: Path) -> list[str]:
    """The host's Python, this checkout and the test's store, at the same paths inside."""
    out = []
    for path in ("/usr", "/etc", sys.base_prefix, str(ROOT)):
        out += ["-v", f"{path}:{path}:ro"]
    venv_bin = Path(sys.executable).parent
    return [*out, "-v", f"{tmp_path}:{tmp_path}", "-e", f"PATH={venv_bin}:/usr/bin:/bin"]


def test_tasks_run_in_their_image_with_its_arguments_and_setup(
    engine: str, agents: Agents, store: TaskStore, tmp_path: Path
) -> None:
    script = write(tmp_path / "show.py", SHOW)
    own = script_task(script, name="own-image")
    own.set_base_docker(
        docker_image=IMAGE,
        docker_arguments="-e FROM_TASK=yes",
        docker_setup_bash_script="export FROM_SETUP=1",
    )
    default = script_task(script, name="agent-image")
    missing = script_task(script, name="missing-image")
    missing.set_base_docker(docker_image="localhost/taskmill-no-such-image:1")
    enqueue(own, default, missing)
    # through the CLI, as a user starts it
    taskmill = str(Path(sys.executable).parent / "taskmill")
    argv = [taskmill, "agent", "-q", "default", "--burst", "--docker", IMAGE, "--docker-engine", engine]
    done = subprocess.run(
        [*argv, "--docker-args", shlex.join([*ENGINE_ARGS, *_mounts(tmp_path)])],
        env=agents.env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for task in (own, default):
        assert record(store, task).status == TaskStatus.completed, log_text(store, task) + done.stderr
        assert "IN_CONTAINER=True" in log_text(store, task)
    assert "FROM_TASK=yes FROM_SETUP=1" in log_text(store, own)
    assert "FROM_TASK=- FROM_SETUP=-" in log_text(store, default)
    failed = record(store, missing)
    assert failed.status == TaskStatus.failed
    assert failed.status_message.startswith("container exited with code "), failed.status_message


def test_the_command_without_an_image_is_refused(store: TaskStore) -> None:
    task = Task.create(project_name="agent-tests", task_name="bare")
    rec: TaskRecord = store.get_task(task.id)
    with pytest.raises(ExecutionError, match="no container image"):
        container_argv(ContainerOptions(engine="podman"), rec, "w", {})
    task.set_base_docker(docker_arguments="--shm-size=1g")  # arguments only: the agent's image
    argv = container_argv(
        ContainerOptions(engine="podman", image="img"), store.get_task(task.id), "w", {"A": "1"}
    )
    assert argv[:6] == ["podman", "run", "--rm", "--name", f"taskmill-{task.id}", "--network"]
    assert argv[-5:-3] == ["--shm-size=1g", "img"] and "A=1" in argv
    assert argv[-1].endswith(f"exec taskmill agent execute {task.id} --claimed-by w")


def test_a_stopped_task_s_container_is_removed(
    engine: str, agents: Agents, store: TaskStore, tmp_path: Path
) -> None:
    slow = script_task(write(tmp_path / "slow.py", SLOW))
    enqueue(slow)
    runner = write(tmp_path / "agent.py", AGENT)
    agent = subprocess.Popen(
        [sys.executable, str(runner), engine, IMAGE, *ENGINE_ARGS, *_mounts(tmp_path)],
        env=agents.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        wait_for(lambda: "sleeping" in log_text(store, slow) or agent.poll() is not None, 120, "the task")
        store.set_status(slow.id, TaskStatus.stopped, message="stopped by a person", force=True)
        _, err = agent.communicate(timeout=60)
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.wait()
    assert agent.returncode == 0, err
    stopped = record(store, slow)
    assert stopped.status == TaskStatus.stopped and stopped.status_message == "stopped by a person"
    left = subprocess.run(
        [engine, "ps", "-a", "-q", "--filter", f"name=taskmill-{slow.id}"], capture_output=True, text=True
    )
    assert left.stdout.strip() == ""


SLOW = """
import time
from taskmill import Task
Task.init()
print("sleeping", flush=True)
time.sleep(120)
"""
