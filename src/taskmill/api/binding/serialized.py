"""``joblib.dump`` and ``pickle.dump`` of a model become output models of the current task.

``joblib.dump(obj, filename)`` to a file (a path or an open file) records that file, whatever
``obj`` is: joblib is how scikit-learn documents saving a model. ``pickle.dump`` is used for
everything, so only objects of a model library (scikit-learn, XGBoost, LightGBM, CatBoost) are
recorded. The framework is the object's library (``ScikitLearn`` for anything else given to
joblib, as ClearML names it). Switched by the ``joblib`` (and ``scikit``) key.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from types import ModuleType
from typing import Any

from taskmill.api.binding.patching import Make, Patcher
from taskmill.api.binding.spec import Binding
from taskmill.api.session import TaskLike

#: top-level package of a model's class -> ClearML's framework name
FRAMEWORKS = {"sklearn": "ScikitLearn", "xgboost": "XGBoost", "lightgbm": "LightGBM", "catboost": "CatBoost"}


def framework_of(obj: Any) -> str | None:
    """ClearML's framework name of a model object, or None for an object of no model library."""
    return FRAMEWORKS.get(type(obj).__module__.partition(".")[0])


def _dump_wrapper(patcher: Patcher, models_only: bool) -> Make:
    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        def dump(*args: Any, **kwargs: Any) -> Any:
            def after(task: TaskLike, _: Any) -> None:
                obj = args[0] if args else kwargs.get("value", kwargs.get("obj"))
                target = args[1] if len(args) > 1 else kwargs.get("filename", kwargs.get("file"))
                framework = framework_of(obj)
                if framework is None and models_only:
                    return
                patcher.report_model(task, "joblib", target, framework or "ScikitLearn")

            return patcher.call(original, args, kwargs, after=after)

        return dump

    return make


def _bind_joblib(module: ModuleType, patcher: Patcher) -> None:
    patcher.replace(module, "dump", _dump_wrapper(patcher, models_only=False))


def _bind_pickle(module: ModuleType, patcher: Patcher) -> None:
    patcher.replace(module, "dump", _dump_wrapper(patcher, models_only=True))


BINDINGS = (Binding("joblib", "joblib", _bind_joblib), Binding("joblib", pickle.__name__, _bind_pickle))
