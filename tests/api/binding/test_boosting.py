"""save_model of a LightGBM booster becomes a LightGBM output model (XGBoost and CatBoost are not
installed by the test extra: their bindings are the same code on another class)."""

from __future__ import annotations

import pytest

from taskmill.api.model import Model
from taskmill.api.task import Task
from tests.api.conftest import RunScript

pytest.importorskip("lightgbm")


def test_lightgbm_save_model_is_an_output_model(run_script: RunScript) -> None:
    proc = run_script(
        """
        import lightgbm as lgb
        import numpy as np
        from taskmill import Task
        task = Task.init(project_name="p", task_name="gbm")
        rng = np.random.default_rng(0)
        x, y = rng.random((60, 3)), rng.random(60)
        booster = lgb.train({"verbose": -1}, lgb.Dataset(x, y), num_boost_round=3)
        assert booster.save_model("model.txt") is booster  # the user's result is untouched
        regressor = lgb.LGBMRegressor(n_estimators=2, verbose=-1).fit(x, y)
        regressor.booster_.save_model("sk.txt")
        print("OK")
        """
    )
    assert proc.returncode == 0, proc.stderr
    (task,) = Task.get_tasks()
    models = task.models["output"]
    assert [(m.name, m.framework) for m in models] == [
        ("gbm - model.txt", "LightGBM"),
        ("gbm - sk.txt", "LightGBM"),
    ]
    import lightgbm as lgb

    assert lgb.Booster(model_file=Model(models[0].id).get_local_copy()).num_trees() == 3
