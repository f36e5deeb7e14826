"""Step 3 of the task pipeline: train a model on the split of another task."""

from __future__ import annotations

import pickle
import tempfile
from pathlib import Path

from sklearn.linear_model import LogisticRegression

from taskmill import Task

task = Task.init(project_name="examples/tasks", task_name="step3 train", task_type=Task.TaskTypes.training)
params = task.connect({"dataset_task_id": "", "C": 1.0})
if not params["dataset_task_id"]:
    raise SystemExit("set General/dataset_task_id (the pipeline does: '${stage_process.id}')")
source = Task.get_task(task_id=params["dataset_task_id"])
train = source.artifacts["train"].get()
test = source.artifacts["test"].get()
features = [c for c in train.columns if c != "target"]
model = LogisticRegression(C=float(params["C"]), max_iter=500).fit(train[features], train["target"])
accuracy = float(model.score(test[features], test["target"]))
task.get_logger().report_scalar("accuracy", "test", accuracy, iteration=0)
path = Path(tempfile.mkdtemp()) / "model.pkl"
path.write_bytes(pickle.dumps(model))
task.upload_artifact("model", str(path))
print(f"accuracy {accuracy:.3f}")
