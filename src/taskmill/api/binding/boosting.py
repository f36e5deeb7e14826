"""``save_model`` of XGBoost, LightGBM and CatBoost models becomes an output model of the current
task (frameworks ``XGBoost``, ``LightGBM``, ``CatBoost``). Patched where the method is defined:
``xgboost.Booster`` and ``xgboost.XGBModel`` (the scikit-learn API, which saves through its
booster: recorded once), ``lightgbm.Booster``, ``catboost.CatBoost`` (its classifier and
regressor inherit it). Switched by the ``xgboost``, ``lightgbm`` and ``catboost`` keys."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

from taskmill.api.binding.patching import Make, Patcher
from taskmill.api.binding.spec import Binding
from taskmill.api.session import TaskLike


def _save_model(patcher: Patcher, key: str, framework: str) -> Make:
    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        def save_model(*args: Any, **kwargs: Any) -> Any:
            def after(task: TaskLike, _: Any) -> None:
                target = args[1] if len(args) > 1 else kwargs.get("fname", kwargs.get("filename"))
                patcher.report_model(task, key, target, framework)

            return patcher.call(original, args, kwargs, after=after)

        return save_model

    return make


def _bind_xgboost(module: ModuleType, patcher: Patcher) -> None:
    for owner in (module.Booster, module.XGBModel):
        patcher.replace(owner, "save_model", _save_model(patcher, "xgboost", "XGBoost"))


def _bind_lightgbm(module: ModuleType, patcher: Patcher) -> None:
    patcher.replace(module.Booster, "save_model", _save_model(patcher, "lightgbm", "LightGBM"))


def _bind_catboost(module: ModuleType, patcher: Patcher) -> None:
    patcher.replace(module.CatBoost, "save_model", _save_model(patcher, "catboost", "CatBoost"))


BINDINGS = (
    Binding("xgboost", "xgboost", _bind_xgboost),
    Binding("lightgbm", "lightgbm", _bind_lightgbm),
    Binding("catboost", "catboost", _bind_catboost),
)
