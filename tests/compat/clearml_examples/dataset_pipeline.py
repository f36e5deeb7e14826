"""A data pipeline as public ClearML projects write them: a PipelineController whose steps version
the data as Datasets (the next step finds it by project and name), report a scalar with
``Logger.current_logger()``, store an artifact with ``Task.current_task().upload_artifact``, and a
last step that reads the earlier step's artifact back through ``Task.get_task``.

Local data: scikit-learn's wine table, written by the first step."""

import argparse

from taskmill import PipelineController

PROJECT = "examples_data"


def ingest(dataset_project, dataset_name):
    import pandas as pd
    from sklearn.datasets import load_wine

    from taskmill import Dataset

    frame = load_wine(as_frame=True).frame
    frame.to_csv("wine.csv", index=False)
    dataset = Dataset.create(dataset_project=dataset_project, dataset_name=dataset_name)
    dataset.add_files("wine.csv")
    dataset.upload()
    dataset.finalize()
    print(f"ingested {len(pd.read_csv('wine.csv'))} rows into dataset {dataset.id}")
    return dataset.id


def clean(dataset_project, dataset_name):
    from pathlib import Path

    import pandas as pd

    from taskmill import Dataset, Logger, Task

    source = Dataset.get(dataset_project=dataset_project, dataset_name=dataset_name)
    frame = pd.read_csv(Path(source.get_local_copy()) / "wine.csv")
    kept = frame[frame["alcohol"] > 12.0]
    Logger.current_logger().report_scalar("rows", "kept", iteration=0, value=len(kept))
    Task.current_task().upload_artifact("clean_table", artifact_object=kept)
    return len(kept)


def summarize(clean_task_id, rows):
    from taskmill import Task

    table = Task.get_task(task_id=clean_task_id).artifacts["clean_table"].get()
    assert len(table) == int(rows)
    summary = {"rows": len(table), "classes": sorted(int(c) for c in table["target"].unique())}
    print("summary", summary)
    return summary


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=["debug", "local", "remote"], default="local")
    mode = parser.parse_args().mode

    pipe = PipelineController(name="data pipeline", project=PROJECT, version="0.2")
    pipe.set_default_execution_queue("default")
    pipe.add_parameter("dataset_name", default="wine raw")
    pipe.add_function_step(
        name="ingest",
        function=ingest,
        function_kwargs=dict(dataset_project=PROJECT, dataset_name="${pipeline.dataset_name}"),
        function_return=["dataset_id"],
        cache_executed_step=False,
    )
    pipe.add_function_step(
        name="clean",
        function=clean,
        function_kwargs=dict(dataset_project=PROJECT, dataset_name="${pipeline.dataset_name}"),
        function_return=["rows"],
        parents=["ingest"],
        cache_executed_step=False,
    )
    pipe.add_function_step(
        name="summarize",
        function=summarize,
        function_kwargs=dict(clean_task_id="${clean.id}", rows="${clean.rows}"),
        function_return=["summary"],
        parents=["clean"],
        cache_executed_step=False,
    )
    if mode == "remote":
        pipe.start(queue="services")
    else:
        pipe.start_locally(run_pipeline_steps_locally=True)
    print("pipeline completed")
