"""A pipeline of Python functions (taskmill's version of ClearML's pipeline_from_functions.py).

load iris -> split -> train two models concurrently -> pick the best. Every step is a tracked
task; objects are handed from step to step with ``${step.return_name}`` references.

    .venv/bin/python examples/pipeline_from_functions.py              # each step in its own process
    .venv/bin/python examples/pipeline_from_functions.py --mode debug # steps as calls in this process
"""

from __future__ import annotations

from typing import Any

from _mode import run

from taskmill import PipelineController


def load_iris() -> Any:
    """Step 1: the iris data set that ships with scikit-learn, as a DataFrame."""
    from sklearn.datasets import load_iris as sk_load

    frame = sk_load(as_frame=True).frame
    print(f"loaded {len(frame)} rows")
    return frame


def split(frame: Any, test_size: float = 0.25, seed: int = 0) -> tuple[Any, Any]:
    """Step 2: train/test split."""
    from sklearn.model_selection import train_test_split

    train, test = train_test_split(frame, test_size=test_size, random_state=seed, stratify=frame["target"])
    return train, test


def train(train: Any, test: Any, c: float) -> dict[str, Any]:
    """Step 3 (twice, concurrently): a logistic regression with regularisation ``c``."""
    from sklearn.linear_model import LogisticRegression

    from taskmill import Task

    features = [col for col in train.columns if col != "target"]
    model = LogisticRegression(C=c, max_iter=500).fit(train[features], train["target"])
    accuracy = float(model.score(test[features], test["target"]))
    Task.current_task().get_logger().report_scalar("accuracy", "test", accuracy, 0)  # type: ignore[union-attr]
    print(f"C={c}: accuracy {accuracy:.3f}")
    return {"c": c, "accuracy": accuracy, "model": model}


def pick_best(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    """Step 4: keep the better model and report it on the pipeline."""
    from taskmill import PipelineController

    best = max((first, second), key=lambda r: r["accuracy"])
    PipelineController.get_logger().report_scalar("best", "accuracy", best["accuracy"], 0)
    print(f"best: C={best['c']} with accuracy {best['accuracy']:.3f}")
    return best


def build() -> PipelineController:
    pipe = PipelineController(name="pipeline from functions", project="examples", version="1.0.0")
    pipe.add_parameter("test_size", 0.25, description="share of rows kept for testing")
    pipe.add_function_step("load", load_iris, function_return="frame", cache_executed_step=True)
    pipe.add_function_step(
        "split",
        split,
        function_kwargs={"frame": "${load.frame}", "test_size": "${pipeline.test_size}"},
        function_return=["train", "test"],
        cache_executed_step=True,
    )
    for name, c in (("train_weak", 0.01), ("train_strong", 10.0)):
        pipe.add_function_step(
            name,
            train,
            function_kwargs={"train": "${split.train}", "test": "${split.test}", "c": c},
            function_return="result",
            task_type="training",
            cache_executed_step=True,
        )
    pipe.add_function_step(
        "pick_best",
        pick_best,
        function_kwargs={"first": "${train_weak.result}", "second": "${train_strong.result}"},
        function_return="best",
    )
    return pipe


if __name__ == "__main__":
    pipe = build()
    run(pipe)
    raise SystemExit(0 if pipe.is_successful() else 1)
