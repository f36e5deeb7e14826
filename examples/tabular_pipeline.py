"""Concurrent fan-out / fan-in (taskmill's version of ClearML's tabular training pipeline).

Two preprocessing variants run at once, each feeds its own training (also concurrent), and
``pick_best`` gets both training task ids in one interpolated string
(``'[${train_1.id}, ${train_2.id}]'``) and reads their results through the Task API. The data is
scikit-learn's bundled wine data set: nothing is downloaded.

    .venv/bin/python examples/tabular_pipeline.py [--mode process|debug]
"""

from __future__ import annotations

from typing import Any

from _mode import run

from taskmill import PipelineController


def load() -> Any:
    """The wine data set (178 rows, 13 features) as a DataFrame."""
    from sklearn.datasets import load_wine

    return load_wine(as_frame=True).frame


def preprocess(frame: Any, scaling: str) -> tuple[Any, Any]:
    """Split, then scale the features (``standard``, ``minmax`` or ``none``)."""
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    train, test = train_test_split(frame, test_size=0.3, random_state=1, stratify=frame["target"])
    features = [c for c in frame.columns if c != "target"]
    if scaling != "none":
        scaler = StandardScaler() if scaling == "standard" else MinMaxScaler()
        train = train.copy()
        test = test.copy()
        train[features] = scaler.fit_transform(train[features])
        test[features] = scaler.transform(test[features])
    print(f"{scaling} scaling: {len(train)} train / {len(test)} test rows")
    return train, test


def train_model(train: Any, test: Any, depth: int) -> float:
    """A gradient-boosted classifier; returns its test accuracy (also reported as a scalar)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    from taskmill import Task

    features = [c for c in train.columns if c != "target"]
    model = HistGradientBoostingClassifier(max_depth=depth, max_iter=60, random_state=0)
    model.fit(train[features], train["target"])
    accuracy = float(model.score(test[features], test["target"]))
    task = Task.current_task()
    assert task is not None
    task.get_logger().report_scalar("accuracy", "test", accuracy, iteration=0)
    task.upload_artifact("model", model)
    return accuracy


def pick_best(train_task_ids: str) -> str:
    """Fan-in: compare the trainings by their recorded results; returns the best task id."""
    from taskmill import PipelineController, Task

    ids = [tid.strip() for tid in train_task_ids.strip("[]").split(",")]
    scores = {tid: Task.get_task(task_id=tid).get_parameters()["return/accuracy"] for tid in ids}
    best = max(scores, key=lambda tid: scores[tid])
    PipelineController.get_logger().report_scalar("best", "accuracy", scores[best], iteration=0)
    print("accuracies:", {tid[:8]: round(score, 3) for tid, score in scores.items()}, "best:", best[:8])
    return best


def build(name: str = "tabular training pipeline") -> PipelineController:
    pipe = PipelineController(name=name, project="examples", add_pipeline_tags=True)
    pipe.add_parameter("depth", 3, description="max depth of the boosted trees")
    pipe.add_function_step("load", load, function_return="frame", cache_executed_step=True)
    for i, scaling in ((1, "standard"), (2, "minmax")):
        pipe.add_function_step(
            f"preprocessing_{i}",
            preprocess,
            function_kwargs={"frame": "${load.frame}", "scaling": scaling},
            function_return=["train", "test"],
            cache_executed_step=True,
            stage="prepare",
        )
        pipe.add_function_step(
            f"train_{i}",
            train_model,
            function_kwargs={
                "train": f"${{preprocessing_{i}.train}}",
                "test": f"${{preprocessing_{i}.test}}",
                "depth": "${pipeline.depth}",
            },
            function_return="accuracy",
            task_type="training",
            cache_executed_step=True,
            stage="train",
        )
    pipe.add_function_step(
        "pick_best",
        pick_best,
        function_kwargs={"train_task_ids": "[${train_1.id}, ${train_2.id}]"},
        function_return="best_task",
        task_type="qc",
    )
    return pipe


if __name__ == "__main__":
    pipe = build()
    run(pipe)
    raise SystemExit(0 if pipe.is_successful() else 1)
