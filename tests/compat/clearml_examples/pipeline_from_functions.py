"""ClearML's examples/pipeline/pipeline_from_functions.py, re-written: a PipelineController whose
steps are plain functions, wired by ``${step.return}`` references."""

# ClearML's own style is kept on purpose: only the imports differ
# ruff: noqa: RUF059

import argparse

from taskmill.automation import PipelineController


def step_one(dataset_name):
    print("step_one")
    import pandas as pd
    from sklearn import datasets

    iris = getattr(datasets, dataset_name)()
    data_frame = pd.DataFrame(iris["data"], columns=iris["feature_names"])
    data_frame["label"] = iris["target"]
    return data_frame


def step_two(data_frame, test_size=0.2, random_state=42):
    print("step_two")
    from sklearn.model_selection import train_test_split

    y = data_frame["label"]
    X = data_frame[[c for c in data_frame.columns if c not in ("label", "target")]]
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=test_size, random_state=random_state)
    return X_train, X_test, y_train, y_test


def step_three(data):
    print("step_three")
    from sklearn.linear_model import LogisticRegression

    X_train, X_test, y_train, y_test = data
    model = LogisticRegression(max_iter=500)
    model.fit(X_train, y_train)
    return model


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=["debug", "local", "remote"], default="local")
    mode = parser.parse_args().mode

    pipe = PipelineController(
        project="examples", name="Pipeline demo", version="1.1", add_pipeline_tags=False
    )
    pipe.set_default_execution_queue("default")
    pipe.add_parameter(
        name="dataset_name", description="scikit-learn loader of the data", default="load_iris"
    )
    pipe.add_function_step(
        name="step_one",
        function=step_one,
        function_kwargs=dict(dataset_name="${pipeline.dataset_name}"),
        function_return=["data_frame"],
        cache_executed_step=True,
    )
    pipe.add_function_step(
        name="step_two",
        function=step_two,
        function_kwargs=dict(data_frame="${step_one.data_frame}"),
        function_return=["processed_data"],
        cache_executed_step=True,
    )
    pipe.add_function_step(
        name="step_three",
        function=step_three,
        function_kwargs=dict(data="${step_two.processed_data}"),
        function_return=["model"],
        cache_executed_step=True,
    )
    if mode == "remote":
        # the controller goes to the 'services' queue; its steps to 'default'
        pipe.start(queue="services")
    else:
        # the controller runs here, each step as a sub-process
        pipe.start_locally(run_pipeline_steps_locally=True)
    print("pipeline completed")
