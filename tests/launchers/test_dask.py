"""The dask launcher on a real local Dask cluster (LocalCluster, worker processes)."""

from __future__ import annotations

import pytest

from taskmill.engine.dask_launcher import DaskLauncher
from taskmill.engine.launcher_api import LauncherContext
from taskmill.errors import ExecutionError
from taskmill.store.base import TaskStore

from .running import cluster_trial, output

pytest.importorskip("distributed")


def test_parallel_steps_fan_in_crash_and_abort_on_a_local_cluster(store: TaskStore) -> None:
    dag = cluster_trial(store, "dask")
    # the step's process was started by a Dask worker (a spawned process), not by this one
    assert "spawn_main" in str(output(store, dag["where"]))


def test_a_remote_cluster_with_the_sqlite_store_is_refused(store: TaskStore) -> None:
    ctx = LauncherContext(
        store=store, store_url="sqlite:////tmp/x.db", targets={}, address="tcp://10.255.0.1:8786"
    )
    with pytest.raises(ExecutionError, match=r"Dask cluster at tcp://10\.255\.0\.1:8786 .* single-machine"):
        DaskLauncher(ctx).start()
