"""Keras/TensorFlow ``model.save(path)`` and ``model.save_weights(path)`` become an output model
(framework ``TensorFlow``) of the current task. Patched on ``keras.Model`` (Keras 3, which is
``tf.keras`` from TensorFlow 2.16 on) and ``tf_keras.Model`` (the Keras 2 package). A SavedModel
folder is uploaded zipped. Switched by the ``tensorflow`` key."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

from taskmill.api.binding.patching import Patcher
from taskmill.api.binding.spec import Binding
from taskmill.api.session import TaskLike


def _bind_keras(module: ModuleType, patcher: Patcher) -> None:
    model_class = module.Model
    defining = next(c for c in model_class.__mro__ if "save" in c.__dict__)

    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        def save(*args: Any, **kwargs: Any) -> Any:
            def after(task: TaskLike, _: Any) -> None:
                target = args[1] if len(args) > 1 else kwargs.get("filepath")
                patcher.report_model(task, "tensorflow", target, "TensorFlow")

            return patcher.call(original, args, kwargs, after=after)

        return save

    patcher.replace(defining, "save", make)
    weights_owner = next((c for c in model_class.__mro__ if "save_weights" in c.__dict__), None)
    if weights_owner is not None:
        patcher.replace(weights_owner, "save_weights", make)


BINDINGS = (Binding("tensorflow", "keras", _bind_keras), Binding("tensorflow", "tf_keras", _bind_keras))
