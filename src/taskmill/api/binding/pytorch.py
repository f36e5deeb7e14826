"""``torch.save(obj, f)`` to a file becomes an output model (framework ``PyTorch``) of the current
task; saving to the same file again uploads new weights to the same model. Buffers are not
recorded. Switched by the ``pytorch`` key (its value may be glob patterns of the files to keep)."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

from taskmill.api.binding.patching import Patcher
from taskmill.api.binding.spec import Binding
from taskmill.api.session import TaskLike


def _bind_torch(module: ModuleType, patcher: Patcher) -> None:
    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        def save(*args: Any, **kwargs: Any) -> Any:
            def after(task: TaskLike, _: Any) -> None:
                target = args[1] if len(args) > 1 else kwargs.get("f")
                patcher.report_model(task, "pytorch", target, "PyTorch")

            return patcher.call(original, args, kwargs, after=after)

        return save

    patcher.replace(module, "save", make)


BINDINGS = (Binding("pytorch", "torch", _bind_torch),)
