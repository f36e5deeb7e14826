"""Base task 1 of ClearML's pipeline_from_tasks.py: store the data set as an artifact."""

import os
import pickle

from taskmill import StorageManager, Task

task = Task.init(project_name="examples", task_name="Pipeline step 1 dataset artifact")

# ClearML's version downloads a pickle; an empty url here means "pickle scikit-learn's iris"
args = {"dataset_url": ""}
task.connect(args)

# run once locally only to register the task (it becomes a draft), then agents/pipelines clone it
task.execute_remotely()

if args["dataset_url"]:
    local_iris_pkl = StorageManager.get_local_copy(remote_url=args["dataset_url"])
else:
    from sklearn.datasets import load_iris

    local_iris_pkl = os.path.abspath("iris_dataset.pkl")
    with open(local_iris_pkl, "wb") as f:
        pickle.dump(load_iris(), f)

task.upload_artifact("dataset", artifact_object=local_iris_pkl)
print("uploading artifacts in the background")
print("Done")
