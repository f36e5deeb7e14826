"""Per-step ``resources`` on real Dask and Ray clusters: a request is what the scheduler places by."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from taskmill import PipelineController
from taskmill.core.pipeline import NodeStatus
from taskmill.store.base import TaskStore

from . import steps
from .running import output, run_on

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def gpu_cluster(tmp_path: Path) -> Iterator[str]:
    """A real Dask scheduler and one worker (4 threads) declaring ``GPU=1``, as processes."""
    pytest.importorskip("distributed")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    procs = [
        subprocess.Popen(
            [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(tmp_path / "scheduler.log", "w"),
        )
    ]
    procs.append(
        subprocess.Popen(
            [str(BIN / "dask"), "worker", address, "--nthreads", "4", "--resources", "GPU=1"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(tmp_path / "worker.log", "w"),
        )
    )
    try:
        import distributed

        with distributed.Client(address, timeout=60) as client:
            client.wait_for_workers(1, timeout=60)
        yield address
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=20)
            if proc.poll() is None:
                proc.kill()


def _overlap(a: list[float], b: list[float]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def test_dask_runs_gpu_steps_one_at_a_time_on_a_one_gpu_worker(store: TaskStore, gpu_cluster: str) -> None:
    p = PipelineController(name="gpus-on-dask", project="tests")
    for name in ("a", "b"):
        p.add_function_step(
            name, steps.window, function_kwargs={"seconds": 1.5}, function_return="r", resources={"gpu": 1}
        )
    # CPU is declared by no worker: left out (else Dask would never run the step)
    p.add_function_step("c", steps.window, function_kwargs={"seconds": 1.5}, function_return="r")
    p.add_function_step(
        "d", steps.window, function_kwargs={"seconds": 0.1}, function_return="r", resources={"cpu": 64}
    )
    run_on(p, f"dask@{gpu_cluster}")
    dag = p.get_pipeline_dag()
    assert {n: d.status for n, d in dag.items()} == dict.fromkeys("abcd", NodeStatus.completed)
    a, b, c = (output(store, dag[n]) for n in "abc")
    assert not _overlap(a, b)  # one GPU: the second waited for the first
    assert _overlap(a, c) or _overlap(b, c)  # a step asking for nothing did not wait


def test_ray_places_steps_by_their_request(store: TaskStore) -> None:
    pytest.importorskip("ray")
    p = PipelineController(name="cpus-on-ray", project="tests")
    for name in ("a", "b"):  # the local cluster has 2 CPUs: two steps asking for 2 run one by one
        p.add_function_step(
            name, steps.window, function_kwargs={"seconds": 1.5}, function_return="r", resources={"cpu": 2}
        )
    p.add_function_step("many", steps.window, function_kwargs={"seconds": 0}, resources={"cpu": 4})
    p.add_function_step("gpu", steps.window, function_kwargs={"seconds": 0}, resources={"gpu": 1})
    started = time.time()
    run_on(p, "ray")
    assert time.time() - started < 120  # the infeasible steps did not wait forever
    dag = p.get_pipeline_dag()
    status = {n: d.status for n, d in dag.items()}
    assert status == {
        "a": NodeStatus.completed,
        "b": NodeStatus.completed,
        "many": NodeStatus.failed,
        "gpu": NodeStatus.failed,
    }
    assert not _overlap(output(store, dag["a"]), output(store, dag["b"]))
    many = store.get_task(str(dag["many"].attempts[-1])).status_message
    assert "asks for num_cpus=4; the local Ray cluster has 2" in many
    assert "num_gpus=1" in store.get_task(str(dag["gpu"].attempts[-1])).status_message
