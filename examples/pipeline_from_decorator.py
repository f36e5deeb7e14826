"""A pipeline written as decorated functions (taskmill's version of ClearML's pipeline_from_decorator.py).

Components are plain functions; the pipeline function calls them like functions. Each call
returns at once; taskmill starts a step as soon as the steps it needs have finished.

    .venv/bin/python examples/pipeline_from_decorator.py              # run_locally(): steps as processes
    .venv/bin/python examples/pipeline_from_decorator.py --mode debug # debug_pipeline(): steps as calls
"""

from __future__ import annotations

import argparse
from typing import Any

from taskmill import PipelineDecorator


@PipelineDecorator.component(return_values=["data_frame"], cache=True, task_type="data_processing")
def step_one(dataset: str = "iris") -> Any:
    """Load a data set bundled with scikit-learn."""
    from sklearn import datasets

    loader = {"iris": datasets.load_iris, "wine": datasets.load_wine}[dataset]
    return loader(as_frame=True).frame


@PipelineDecorator.component(return_values=["X_train", "X_test", "y_train", "y_test"], cache=True)
def step_two(data_frame: Any, test_size: float = 0.2, random_state: int = 42) -> tuple[Any, Any, Any, Any]:
    """Split into train and test sets."""
    from sklearn.model_selection import train_test_split

    y = data_frame["target"]
    X = data_frame.drop(columns=["target"])
    return tuple(train_test_split(X, y, test_size=test_size, random_state=random_state))  # type: ignore[return-value]


@PipelineDecorator.component(return_values=["model"], cache=True, task_type="training")
def step_three(X_train: Any, y_train: Any) -> Any:
    """Train a logistic regression."""
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=500).fit(X_train, y_train)


@PipelineDecorator.component(return_values=["accuracy"], task_type="testing")
def step_four(model: Any, X_test: Any, y_test: Any) -> float:
    """Evaluate, and report the accuracy on the pipeline too."""
    accuracy = float(model.score(X_test, y_test))
    PipelineDecorator.get_logger().report_scalar("accuracy", "test", accuracy, iteration=0)
    return accuracy


@PipelineDecorator.pipeline(
    name="pipeline from decorator", project="examples", version="1.0.0", return_value="accuracy"
)
def executing_pipeline(dataset: str = "iris", test_size: float = 0.2) -> float:
    data_frame = step_one(dataset)
    X_train, X_test, y_train, y_test = step_two(data_frame, test_size=test_size)
    model = step_three(X_train, y_train)
    accuracy = step_four(model, X_test, y_test)
    print(f"accuracy: {accuracy:.3f}")  # using the value waits for it
    return accuracy


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=["process", "debug", "remote"], default="process")
    mode = parser.parse_args().mode
    if mode == "debug":
        PipelineDecorator.debug_pipeline()
    elif mode == "remote":  # the run goes to the 'services' queue, its steps to 'default'
        PipelineDecorator.set_default_execution_queue("default")
    else:
        PipelineDecorator.run_locally()
    executing_pipeline()
