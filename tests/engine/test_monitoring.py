"""Monitored metrics, artifacts and models of a step are copied onto its run."""

from __future__ import annotations

from taskmill.core.model import ArtifactRecord, ModelRecord, ScalarPoint, new_id
from taskmill.core.pipeline import StepSpec
from taskmill.engine.monitoring import copy_monitored
from taskmill.store.base import TaskStore

from .conftest import new_task


def test_the_run_gets_the_last_metric_value_an_artifact_link_and_the_model(engine_store: TaskStore) -> None:
    store = engine_store
    run, step = new_task(store, "run"), new_task(store, "step")
    store.add_scalars(step, [ScalarPoint("loss", "train", i, 1.0 / (i + 1)) for i in range(3)])
    store.put_artifact(ArtifactRecord(step, "table", "file:///tmp/table.parquet", "pandas", size=10))
    store.add_model(ModelRecord(step, new_id(), "net", "file:///tmp/net.pt", "output", "pytorch"))
    spec = StepSpec(
        name="s",
        kind="function",
        monitor_metrics=((("loss", "train"), ("step loss", "train")),),
        monitor_artifacts=(("table", "step table"), ("absent", "absent")),
        monitor_models=(("net", "best net"),),
    )
    copy_monitored(store, run, spec=spec, task_id=step)
    (point,) = store.get_scalars(run)
    assert (point.title, point.series, point.iteration, point.value) == ("step loss", "train", 2, 1.0 / 3)
    (artifact,) = store.get_artifacts(run)
    assert artifact.name == "step table" and artifact.uri == "file:///tmp/table.parquet"
    assert artifact.metadata["linked_from"] == step
    (model,) = store.get_models(run)
    assert model.name == "best net" and model.uri == "file:///tmp/net.pt" and model.framework == "pytorch"
