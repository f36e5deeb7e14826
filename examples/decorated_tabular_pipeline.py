"""Decorated tabular pipeline: a loop of parallel trainings and a conditional early return.

``for depth in depths: train(...)`` launches every training at once; the pipeline function only
waits where it uses a value (the quality check and picking the best model).

    .venv/bin/python examples/decorated_tabular_pipeline.py [--mode process|debug]
"""

from __future__ import annotations

import argparse
from typing import Any

from taskmill import PipelineDecorator


@PipelineDecorator.component(return_values=["train", "test"], cache=True)
def prepare(seed: int = 0) -> tuple[Any, Any]:
    from sklearn.datasets import load_wine
    from sklearn.model_selection import train_test_split

    frame = load_wine(as_frame=True).frame
    train, test = train_test_split(frame, test_size=0.3, random_state=seed, stratify=frame["target"])
    return train, test


@PipelineDecorator.component(return_values=["ok"])
def quality_check(train: Any) -> bool:
    """Refuse data with missing values or a single class."""
    return bool(train.notna().all().all() and train["target"].nunique() > 1)


@PipelineDecorator.component(return_values=["score"], task_type="training", cache=True)
def train_model(train: Any, test: Any, depth: int) -> dict[str, Any]:
    from sklearn.tree import DecisionTreeClassifier

    features = [c for c in train.columns if c != "target"]
    model = DecisionTreeClassifier(max_depth=depth, random_state=0).fit(train[features], train["target"])
    return {"depth": depth, "accuracy": float(model.score(test[features], test["target"])), "model": model}


@PipelineDecorator.component(return_values=["best"], task_type="qc")
def pick_best(scores: list[dict[str, Any]]) -> dict[str, Any]:
    best = max(scores, key=lambda s: s["accuracy"])
    PipelineDecorator.upload_artifact("best_model", best["model"])
    PipelineDecorator.get_logger().report_scalar("best", "accuracy", best["accuracy"], iteration=0)
    return {"depth": best["depth"], "accuracy": best["accuracy"]}


@PipelineDecorator.pipeline(name="decorated tabular pipeline", project="examples", return_value="best")
def tabular(depths: list[int] | None = None, seed: int = 0) -> Any:
    train, test = prepare(seed)
    if not quality_check(train):  # waits for the check: an early return skips the training
        print("data failed the quality check; nothing trained")
        return None
    scores = [train_model(train, test, depth) for depth in (depths or [1, 2, 3, 5, 8])]
    best = pick_best(scores)  # a list of lazy values: pick_best starts when all trainings end
    print(f"best depth {best['depth']} with accuracy {best['accuracy']:.3f}")
    return best


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
    tabular()
