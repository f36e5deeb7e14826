"""Step 2 of the task pipeline: split the data set of another task (given by its task id)."""

from __future__ import annotations

from sklearn.model_selection import train_test_split

from taskmill import Task

task = Task.init(
    project_name="examples/tasks", task_name="step2 process", task_type=Task.TaskTypes.data_processing
)
params = task.connect({"dataset_task_id": "", "test_size": 0.25, "random_state": 42})
if not params["dataset_task_id"]:
    raise SystemExit("set General/dataset_task_id (the pipeline does: '${stage_data.id}')")
frame = Task.get_task(task_id=params["dataset_task_id"]).artifacts["dataset"].get()
train, test = train_test_split(frame, test_size=params["test_size"], random_state=params["random_state"])
task.upload_artifact("train", train)
task.upload_artifact("test", test)
print(f"train {len(train)} rows, test {len(test)} rows")
