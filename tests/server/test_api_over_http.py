"""The Task API and pipelines through a taskmill server (TASKMILL_STORE=http://...), artifacts
written directly when the server's storage is reachable and relayed through the server when not."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from taskmill import Task
from taskmill.api.relay import RelayArtifactStore
from taskmill.api.session import PROCESS

from .harness import Served


@pytest.fixture
def client_env(server: Served, key: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    home = tmp_path / "client-home"
    env = {"TASKMILL_HOME": str(home), "TASKMILL_STORE": server.url, "TASKMILL_API_KEY": key}
    for name in ("TASKMILL_ARTIFACTS", "TASKMILL_TASK_ID"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    PROCESS.reset()
    yield env
    PROCESS.reset()


def test_artifacts_relay_through_the_server(
    client_env: dict[str, str], server: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TASKMILL_ARTIFACTS", "server")  # as a machine without access would
    PROCESS.reset()
    task = Task.create(project_name="remote", task_name="relay")
    data = np.arange(1000, dtype=np.float64)
    task.upload_artifact("data", data)
    assert isinstance(PROCESS.session().artifacts, RelayArtifactStore)
    record = server.store.get_artifacts(task.id)[0]
    assert (
        Path(record.uri).is_file() and str(server.artifacts.default_uri) in record.uri
    )  # on the server side
    np.testing.assert_array_equal(task.artifacts["data"].get(), data)
    local = task.artifacts["data"].get_local_copy()
    assert local is not None and "relay" in local  # a cached download, not the server's file


def test_direct_artifacts_when_the_server_storage_is_reachable(
    client_env: dict[str, str], server: Served
) -> None:
    task = Task.create(project_name="remote", task_name="direct")
    task.upload_artifact("cfg", {"a": 1})
    assert not isinstance(PROCESS.session().artifacts, RelayArtifactStore)
    assert task.artifacts["cfg"].url.startswith(str(server.artifacts.default_uri))
    assert task.artifacts["cfg"].get() == {"a": 1}


def test_pipeline_over_http_store(client_env: dict[str, str], server: Served, tmp_path: Path) -> None:
    script = tmp_path / "pipe.py"
    script.write_text(
        textwrap.dedent("""
        from taskmill import PipelineController

        def make(n):
            return list(range(n))

        def total(values):
            return sum(values)

        pipe = PipelineController(name="over http", project="remote")
        pipe.add_function_step("make", make, function_kwargs={"n": 5}, function_return="v")
        pipe.add_function_step("total", total, function_kwargs={"values": "${make.v}"}, function_return="t")
        pipe.start_locally(run_pipeline_steps_locally=True)
        print("RESULT", pipe.is_successful(), pipe.id)
    """)
    )
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("TASKMILL_")}, **client_env}
    proc = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert "RESULT True" in proc.stdout, proc.stdout + proc.stderr
    run_id = proc.stdout.split("RESULT True ")[-1].split()[0]
    nodes = dict(server.store.get_nodes(run_id))  # the server's own store saw everything
    assert server.store.get_param_dict(str(nodes["total"]["job_id"]))["return/t"] == 10
