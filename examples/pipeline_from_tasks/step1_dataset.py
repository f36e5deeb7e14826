"""Step 1 of the task pipeline: publish the iris data set as an artifact.

Run it once on its own to register it as a base task (pipeline_from_tasks.py does that for you).
"""

from __future__ import annotations

from sklearn.datasets import load_iris

from taskmill import Task

task = Task.init(
    project_name="examples/tasks", task_name="step1 dataset", task_type=Task.TaskTypes.data_processing
)
params = task.connect({"subset": "all"})
frame = load_iris(as_frame=True).frame
if params["subset"] != "all":
    frame = frame[frame["target"] == int(params["subset"])]
task.upload_artifact("dataset", frame)
print(f"uploaded {len(frame)} rows")
