"""torch.save to a file becomes a PyTorch output model, uploaded to the task's output location."""

from __future__ import annotations

from pathlib import Path

import pytest

from taskmill.api.model import Model
from taskmill.api.task import Task
from tests.api.conftest import RunScript

pytest.importorskip("torch")


def test_torch_save_is_an_output_model_at_the_output_uri(run_script: RunScript, tmp_path: Path) -> None:
    out = tmp_path / "bucket"
    proc = run_script(
        f"""
        import io
        import torch
        from taskmill import Task
        task = Task.init(project_name="p", task_name="net", output_uri={str(out)!r})
        net = torch.nn.Linear(2, 1)
        for epoch in range(3):
            torch.save(net.state_dict(), "best.pt")  # every epoch: one model, latest weights
        torch.save(net.state_dict(), io.BytesIO())  # a buffer is no model file
        torch.save({{"epoch": 3}}, "ckpt.bin")
        print("OK")
        """,
        env={"TASKMILL_OUTPUT_URI": ""},
    )
    assert proc.returncode == 0, proc.stderr
    (task,) = Task.get_tasks()
    models = task.models["output"]
    assert [(m.name, m.framework) for m in models] == [
        ("net - best.pt", "PyTorch"),
        ("net - ckpt.bin", "PyTorch"),
    ]
    assert all(str(out) in m.uri for m in models), [m.uri for m in models]
    import torch

    state = torch.load(Model(models[0].id).get_local_copy())
    assert set(state) == {"weight", "bias"}


def test_pytorch_switched_off(run_script: RunScript) -> None:
    proc = run_script(
        """
        import torch
        from taskmill import Task
        task = Task.init(project_name="p", task_name="net", auto_connect_frameworks={"pytorch": False})
        torch.save({"a": 1}, "x.pt")
        assert not hasattr(torch.save, "__taskmill_wrapped__")
        print(len(task.models["output"]))
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("0")
