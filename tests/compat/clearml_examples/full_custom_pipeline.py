"""ClearML's examples/pipeline/full_custom_pipeline.py, re-written: a decorated pipeline that reads
a pickled data set through ``StorageManager.get_local_copy``, changes a step's returned values in
the pipeline logic itself, and passes the changed values on.

Local data: ``__main__`` pickles scikit-learn's iris next to the script (ClearML's version
downloads a pickle)."""

# ClearML's own style is kept on purpose: only the imports differ
# ruff: noqa: RUF059, UP032

import argparse
import os

from taskmill.automation.controller import PipelineDecorator


@PipelineDecorator.component(return_values=["data_frame"], cache=True)
def load_table(pickle_data_url: str, extra: int = 43):
    print("load_table")
    import pickle

    import pandas as pd

    from taskmill import StorageManager

    local_pickle = StorageManager.get_local_copy(remote_url=pickle_data_url)
    with open(local_pickle, "rb") as f:
        iris = pickle.load(f)
    data_frame = pd.DataFrame(iris["data"], columns=iris["feature_names"])
    data_frame["target"] = iris["target"]
    return data_frame


@PipelineDecorator.component(return_values=["processed_data"], cache=True)
def split_table(data_frame, test_size=0.2, random_state=42):
    print("split_table")
    from sklearn.model_selection import train_test_split

    y = data_frame["target"]
    X = data_frame[[c for c in data_frame.columns if c != "target"]]
    return train_test_split(X, y, test_size=test_size, random_state=random_state)


@PipelineDecorator.component(return_values=["model", "first_test_value"], cache=True)
def fit_model(data):
    print("fit_model")
    from sklearn.linear_model import LogisticRegression

    X_train, X_test, y_train, y_test = data
    model = LogisticRegression(max_iter=500)
    model.fit(X_train, y_train)
    return model, float(X_test.iloc[0, 0])


@PipelineDecorator.pipeline(name="full custom pipeline", project="examples_custom", version="0.0.1")
def executing_pipeline(pickle_url, mock_parameter="mock"):
    print("pipeline args:", pickle_url, mock_parameter)
    data_frame = load_table(pickle_url)
    processed_data = split_table(data_frame)
    # the pipeline logic changes the returned values: the changed copy goes to the next step
    processed_data = [processed_data[0], processed_data[1] * 2, processed_data[2], processed_data[3]]
    model, first_test_value = fit_model(processed_data)
    print("pipeline completed with model: {} ({})".format(model, first_test_value))


def write_local_data() -> str:
    import pickle

    from sklearn.datasets import load_iris

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "iris_dataset.pkl")
    iris = load_iris()
    with open(path, "wb") as f:
        pickle.dump({k: iris[k] for k in ("data", "target", "feature_names")}, f)
    return path


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=["debug", "local", "remote"], default="local")
    mode = parser.parse_args().mode
    url = write_local_data()
    PipelineDecorator.set_default_execution_queue("default")
    if mode == "debug":
        PipelineDecorator.debug_pipeline()
    elif mode == "local":
        PipelineDecorator.run_locally()
    executing_pipeline(pickle_url=url)
    print("process completed")
