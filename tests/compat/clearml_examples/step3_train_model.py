"""Base task 3 of ClearML's pipeline_from_tasks.py: train and score a model on task 2's split."""

import joblib
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import LogisticRegression

from taskmill import Task

task = Task.init(project_name="examples", task_name="Pipeline step 3 train model")

args = {"dataset_task_id": "REPLACE_WITH_DATASET_TASK_ID"}
task.connect(args)
task.execute_remotely()

dataset_task = Task.get_task(task_id=args["dataset_task_id"])
X_train = dataset_task.artifacts["X_train"].get()
X_test = dataset_task.artifacts["X_test"].get()
y_train = dataset_task.artifacts["y_train"].get()
y_test = dataset_task.artifacts["y_test"].get()

model = LogisticRegression(max_iter=500)
model.fit(X_train, y_train)

joblib.dump(model, "model.pkl", compress=True)

loaded_model = joblib.load("model.pkl")
result = loaded_model.score(X_test, y_test)
print("model score:", result)

x_min, x_max = X_test[:, 0].min() - 0.5, X_test[:, 0].max() + 0.5
y_min, y_max = X_test[:, 1].min() - 0.5, X_test[:, 1].max() + 0.5
plt.figure(1, figsize=(4, 3))
plt.scatter(X_test[:, 0], X_test[:, 1], c=y_test, edgecolors="k", cmap=plt.cm.Paired)
plt.xlim(x_min, x_max)
plt.ylim(y_min, y_max)
plt.xticks(np.arange(0))
plt.yticks(np.arange(0))
plt.title("Iris Types")
plt.show()
print("Done")
