"""The ray launcher on a real local Ray cluster (ray.init(num_cpus=2))."""

from __future__ import annotations

import pytest

from taskmill.engine.launcher_api import LauncherContext
from taskmill.engine.ray_launcher import RayLauncher
from taskmill.errors import ExecutionError
from taskmill.store.base import TaskStore

from .running import cluster_trial, output

pytest.importorskip("ray")


def test_parallel_steps_fan_in_crash_and_abort_on_a_local_cluster(store: TaskStore) -> None:
    dag = cluster_trial(store, "ray")
    # the step's process was started by a Ray worker, not by this one
    assert str(output(store, dag["where"])).startswith("ray::run_in_task")


def test_a_remote_cluster_with_the_sqlite_store_is_refused(store: TaskStore) -> None:
    ctx = LauncherContext(
        store=store, store_url="sqlite:////tmp/x.db", targets={}, address="tcp://10.255.0.1:8786"
    )
    with pytest.raises(ExecutionError, match=r"Ray cluster at tcp://10\.255\.0\.1:8786 .* single-machine"):
        RayLauncher(ctx).start()
