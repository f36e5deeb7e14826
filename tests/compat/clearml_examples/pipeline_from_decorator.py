"""ClearML's flagship example (examples/pipeline/pipeline_from_decorator.py), re-written: four
decorated components (load, split, train, evaluate) called from a decorated pipeline function."""

# ClearML's own style is kept on purpose: only the imports differ
# ruff: noqa: UP032

import argparse

from taskmill import TaskTypes
from taskmill.automation.controller import PipelineDecorator


# Each component becomes its own step task; the imports inside it are what the step needs.
@PipelineDecorator.component(return_values=["data_frame"], cache=True, task_type=TaskTypes.data_processing)
def step_one(dataset_name: str, extra: int = 43):
    print("step_one")
    import pandas as pd
    from sklearn import datasets

    iris = getattr(datasets, dataset_name)()
    data_frame = pd.DataFrame(iris["data"], columns=iris["feature_names"])
    data_frame["label"] = iris["target"]
    return data_frame


@PipelineDecorator.component(
    return_values=["X_train", "X_test", "y_train", "y_test"], cache=True, task_type=TaskTypes.data_processing
)
def step_two(data_frame, test_size=0.2, random_state=42):
    print("step_two")
    from sklearn.model_selection import train_test_split

    y = data_frame["label"]
    X = data_frame[[c for c in data_frame.columns if c not in ("label", "target")]]
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=test_size, random_state=random_state)
    return X_train, X_test, y_train, y_test


@PipelineDecorator.component(return_values=["model"], cache=True, task_type=TaskTypes.training)
def step_three(X_train, y_train):
    print("step_three")
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(max_iter=500)
    model.fit(X_train, y_train)
    return model


@PipelineDecorator.component(return_values=["accuracy"], cache=True, task_type=TaskTypes.qc)
def step_four(model, X_data, Y_data):
    from sklearn.metrics import accuracy_score

    Y_pred = model.predict(X_data)
    return accuracy_score(Y_data, Y_pred, normalize=True)


@PipelineDecorator.pipeline(name="custom pipeline logic", project="examples", version="0.0.5")
def executing_pipeline(dataset_name, mock_parameter="mock"):
    print("pipeline args:", dataset_name, mock_parameter)
    print("launch step one")
    data_frame = step_one(dataset_name)
    print("launch step two")
    X_train, X_test, y_train, y_test = step_two(data_frame)
    print("launch step three")
    model = step_three(X_train, y_train)
    print("returned model: {}".format(model))
    print("launch step four")
    accuracy = 100 * step_four(model, X_data=X_test, Y_data=y_test)
    print(f"Accuracy={accuracy}%")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=["debug", "local", "remote"], default="local")
    mode = parser.parse_args().mode
    if mode == "debug":
        # steps run as plain functions in this process
        PipelineDecorator.debug_pipeline()
    elif mode == "local":
        # steps run as sub-processes on this machine
        PipelineDecorator.run_locally()
    else:
        # the pipeline logic goes to the 'services' queue and its steps to 'default'
        PipelineDecorator.set_default_execution_queue("default")
    executing_pipeline(dataset_name="load_iris")
    print("process completed")
