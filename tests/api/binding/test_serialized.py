"""joblib.dump / pickle.dump of a model become output models of the task (real interpreters)."""

from __future__ import annotations

from pathlib import Path

import pytest

from taskmill.api.model import Model
from taskmill.api.task import Task
from tests.api.conftest import RunScript


def only_task() -> Task:
    (task,) = Task.get_tasks()
    return task


def test_joblib_and_pickle_of_an_estimator_are_output_models(run_script: RunScript) -> None:
    proc = run_script(
        """
        import pickle
        import joblib
        from sklearn.linear_model import LinearRegression
        from taskmill import Task
        task = Task.init(project_name="p", task_name="train")
        model = LinearRegression().fit([[0.0], [1.0], [2.0]], [1.0, 3.0, 5.0])
        joblib.dump(model, "model.joblib")
        joblib.dump(model, "model.joblib")  # saved again: the same model, new weights
        with open("model.pkl", "wb") as handle:
            pickle.dump(model, handle)  # recorded even before the file is closed
        with open("plain.pkl", "wb") as handle:
            pickle.dump({"not": "a model"}, handle)  # pickle of anything else is not a model
        assert task.get_models()["output"][-1].id == task.models["output"][-1].id
        print("OK")
        """
    )
    assert proc.returncode == 0, proc.stderr
    task = only_task()
    models = task.models["output"]
    assert [(m.name, m.framework) for m in models] == [
        ("train - model.joblib", "ScikitLearn"),
        ("train - model.pkl", "ScikitLearn"),
    ]
    import joblib

    restored = joblib.load(Model(models[0].id).get_local_copy())
    assert abs(restored.predict([[3.0]])[0] - 7.0) < 1e-9
    assert Path(Model(models[-1].id).get_local_copy()).stat().st_size > 0


def test_joblib_patterns_and_switch(run_script: RunScript) -> None:
    proc = run_script(
        """
        import joblib
        from taskmill import Task
        task = Task.init(project_name="p", task_name="filtered", auto_connect_frameworks={"joblib": "*.pkl"})
        joblib.dump([1, 2], "kept.pkl")
        joblib.dump([1, 2], "dropped.joblib")
        joblib.dump([1, 2], "kept2.pkl", compress=3)
        print([m.name for m in task.models["output"]])
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert "['filtered - kept.pkl', 'filtered - kept2.pkl']" in proc.stdout


PIPELINE = """
import sys
from taskmill import PipelineController, Task

def train(n: int) -> str:
    import joblib
    from sklearn.linear_model import LinearRegression
    joblib.dump(LinearRegression().fit([[0.0], [1.0]], [0.0, float(n)]), "model.joblib")
    return "trained"

def use(model_id: str) -> str:
    return model_id

p = PipelineController(name="auto", project="tests", version="1")
p.add_function_step("train", train, function_kwargs={"n": 2}, function_return=["r"])
p.add_function_step(
    "use", use, function_kwargs={"model_id": "${train.models.output.-1.id}"}, function_return=["model_id"]
)
if sys.argv[1] == "debug":
    p.debug_pipeline()  # steps run in this process
else:
    p.start_locally(run_pipeline_steps_locally=True)  # steps run as processes
dag = p.get_pipeline_dag()
models = Task.get_task(task_id=dag["train"].job_id).models["output"]
used = Task.get_task(task_id=dag["use"].job_id).get_parameters()["return/model_id"]
assert used == models[-1].id and models[-1].framework == "ScikitLearn", (used, models)
print("OK")
"""


@pytest.mark.parametrize("mode", ["debug", "local"])
def test_a_pipeline_steps_saved_model_resolves_as_a_reference(run_script: RunScript, mode: str) -> None:
    proc = run_script(PIPELINE, mode)
    assert proc.returncode == 0, proc.stderr
    assert "OK" in proc.stdout
