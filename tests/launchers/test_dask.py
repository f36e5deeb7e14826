"""The dask launcher on a real local Dask cluster (LocalCluster, worker processes)."""

from __future__ import annotations

import time

import pytest

from taskmill import PipelineController
from taskmill.core.pipeline import NodeStatus
from taskmill.engine.dask_launcher import DaskLauncher
from taskmill.engine.launcher_api import LauncherContext
from taskmill.errors import ExecutionError
from taskmill.store.base import TaskStore

from . import steps
from .running import output, run_on

pytest.importorskip("distributed")


def test_parallel_steps_fan_in_crash_and_abort_on_a_local_cluster(store: TaskStore) -> None:
    p = PipelineController(name="on-dask", project="tests")
    for i in range(3):
        p.add_function_step(f"part{i}", steps.add, function_kwargs={"a": i, "b": 10}, function_return="r")
    p.add_function_step(
        "fan_in",
        steps.add,
        function_kwargs={"a": "${part0.r}", "b": "${part2.r}"},
        function_return="r",
        parents=["part1"],
    )
    p.add_function_step("crash", steps.crash, function_kwargs={"code": 4})
    p.add_function_step("slow", steps.sleepy, function_kwargs={"seconds": 120}, time_limit=2)
    p.add_function_step("where", steps.parent_command, function_return="r")
    started = time.time()
    run_on(p, "dask")
    assert time.time() - started < 90  # the 120 s step was killed
    dag = p.get_pipeline_dag()
    status = {n: d.status for n, d in dag.items()}
    assert status == {
        "part0": NodeStatus.completed,
        "part1": NodeStatus.completed,
        "part2": NodeStatus.completed,
        "fan_in": NodeStatus.completed,
        "crash": NodeStatus.failed,
        "slow": NodeStatus.aborted,
        "where": NodeStatus.completed,
    }
    crashed = store.get_task(str(dag["crash"].attempts[-1]))
    assert crashed.status_message == "step process exited with code 4"
    assert store.get_task(str(dag["slow"].attempts[-1])).status.value == "stopped"
    assert output(store, dag["fan_in"]) == 10 + 12
    # the step's process was started by a Dask worker (a spawned process), not by this one
    assert "spawn_main" in str(output(store, dag["where"]))


def test_a_remote_cluster_with_the_sqlite_store_is_refused(store: TaskStore) -> None:
    ctx = LauncherContext(
        store=store, store_url="sqlite:////tmp/x.db", targets={}, address="tcp://10.255.0.1:8786"
    )
    with pytest.raises(ExecutionError, match=r"Dask cluster at tcp://10\.255\.0\.1:8786 .* single-machine"):
        DaskLauncher(ctx).start()
