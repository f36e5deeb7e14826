"""Keras model.save / save_weights become TensorFlow-framework output models (Keras 3 on the
torch backend here: the binding is on keras.Model, whatever the backend)."""

from __future__ import annotations

import importlib.util

import pytest

from taskmill.api.task import Task
from tests.api.conftest import RunScript

pytest.importorskip("torch")
if importlib.util.find_spec("keras") is None:  # importing it here would pick the TensorFlow backend
    pytest.skip("keras is not installed", allow_module_level=True)


def test_keras_save_and_save_weights_are_output_models(run_script: RunScript) -> None:
    proc = run_script(
        """
        import keras
        from taskmill import Task
        task = Task.init(project_name="p", task_name="k")
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        model.save("net.keras")
        model.save_weights("net.weights.h5")
        restored = keras.models.load_model("net.keras")
        assert restored.count_params() == 4
        print("OK")
        """,
        env={"KERAS_BACKEND": "torch"},
    )
    assert proc.returncode == 0, proc.stderr
    (task,) = Task.get_tasks()
    models = task.models["output"]
    assert [(m.name, m.framework) for m in models] == [
        ("k - net.keras", "TensorFlow"),
        ("k - net.weights.h5", "TensorFlow"),
    ]
