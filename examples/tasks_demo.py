"""taskmill demo: tracked tasks with parameters, artifacts and metrics on the embedded store.

Run it with ``./scripts/demo``. It trains a tiny logistic-regression model with numpy on
synthetic data, in three tracked tasks (prepare data, train, evaluate), then prints where
everything is and how to look at it with the CLI.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from taskmill import Task, TaskTypes
from taskmill.api.session import PROCESS


def prepare(seed: int, n: int) -> Task:
    task = Task.create(project_name="demo", task_name="prepare data", task_type=TaskTypes.data_processing)
    task.mark_started()
    params = {"seed": seed, "samples": n}
    task.connect(params)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    w = np.array([1.5, -2.0, 0.5, 0.0])
    y = (x @ w + rng.normal(scale=0.5, size=n) > 0).astype(np.float64)
    task.upload_artifact("features", x)
    task.upload_artifact("labels", y)
    task.upload_artifact("summary", pd.DataFrame({"feature": list("abcd"), "mean": x.mean(axis=0)}))
    task.mark_completed()
    return task


def train(data: Task, lr: float, epochs: int) -> Task:
    task = Task.create(project_name="demo", task_name="train", task_type=TaskTypes.training)
    task.set_parent(data)
    task.mark_started()
    hp = task.connect({"lr": lr, "epochs": epochs, "data_task": data.id})
    x = data.artifacts["features"].get()
    y = data.artifacts["labels"].get()
    w = np.zeros(x.shape[1])
    log = task.get_logger()
    for epoch in range(hp["epochs"]):
        p = 1 / (1 + np.exp(-(x @ w)))
        w -= hp["lr"] * x.T @ (p - y) / len(y)
        loss = float(-np.mean(y * np.log(p + 1e-9) + (1 - y) * np.log(1 - p + 1e-9)))
        log.report_scalar("loss", "train", loss, iteration=epoch)
    task.upload_artifact("weights", w, metadata={"epochs": epochs})
    task.mark_completed()
    return task


def evaluate(data: Task, model: Task) -> Task:
    task = Task.create(project_name="demo", task_name="evaluate", task_type=TaskTypes.testing)
    task.set_parent(model)
    task.mark_started()
    x = data.artifacts["features"].get()
    y = data.artifacts["labels"].get()
    w = model.artifacts["weights"].get()
    accuracy = float(np.mean(((x @ w) > 0) == (y > 0.5)))
    task.get_logger().report_single_value("accuracy", accuracy)
    task.upload_artifact("report", {"accuracy": accuracy, "model_task": model.id})
    task.mark_completed()
    return task


def main() -> None:
    data = prepare(seed=7, n=2000)
    model = train(data, lr=0.5, epochs=30)
    result = evaluate(data, model)
    accuracy = result.get_reported_single_values()["accuracy"]
    settings = PROCESS.session().settings
    print(f"accuracy: {accuracy:.3f}")
    print(f"store:     {settings.store_url}")
    print(f"artifacts: {settings.artifacts_uri}")
    for t in (data, model, result):
        print(f"  {t.name:<14} {t.id}  {t.status:<10} artifacts: {', '.join(t.artifacts) or '-'}")
    print("look at them with:")
    print("  .venv/bin/taskmill tasks list --project demo")
    print(f"  .venv/bin/taskmill tasks show {model.id}")


if __name__ == "__main__":
    main()
