"""Base task 2 of ClearML's pipeline_from_tasks.py: split the data set into train and test."""

import pickle

from sklearn.model_selection import train_test_split

from taskmill import StorageManager, Task

task = Task.init(project_name="examples", task_name="Pipeline step 2 process dataset")

args = {
    "dataset_task_id": "",
    "dataset_url": "",
    "random_state": 42,
    "test_size": 0.2,
}
task.connect(args)
task.execute_remotely()

if args["dataset_task_id"]:
    dataset_upload_task = Task.get_task(task_id=args["dataset_task_id"])
    iris_pickle = dataset_upload_task.artifacts["dataset"].get_local_copy()
elif args["dataset_url"]:
    iris_pickle = StorageManager.get_local_copy(remote_url=args["dataset_url"])
else:
    raise ValueError("Missing dataset link")

with open(iris_pickle, "rb") as f:
    iris = pickle.load(f)

X = iris.data
y = iris.target
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=args["test_size"], random_state=args["random_state"]
)

task.upload_artifact("X_train", X_train)
task.upload_artifact("X_test", X_test)
task.upload_artifact("y_train", y_train)
task.upload_artifact("y_test", y_test)
print("Notice, artifacts are uploaded in the background")
print("Done")
