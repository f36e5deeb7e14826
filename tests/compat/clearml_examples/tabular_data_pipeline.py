"""ClearML's tabular data flow (examples/pipeline/full_tabular_data_process_pipeline_example.py
and the tabular notebooks), re-written: versioned Datasets with preview tables from
``Dataset.get_logger()``, an integrity check that reports a histogram, two models trained in
parallel and saved with ``joblib.dump`` (auto-logged as output models), and the best one
connected to the pipeline.

Local data: ``__main__`` writes scikit-learn's diabetes table as a header-less CSV (ClearML's
version downloads a UCI table), and scikit-learn stands in for XGBoost."""

# ClearML's own style is kept on purpose: only the imports differ
# ruff: noqa: UP032

import argparse
import os

from taskmill import PipelineDecorator, Task

COLUMNS = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6", "progression"]


@PipelineDecorator.component(cache=True)
def create_dataset(source_url: str, project: str, dataset_name: str) -> str:
    print("starting create_dataset")
    import pandas as pd

    from taskmill import Dataset, StorageManager

    local_file = StorageManager.get_local_copy(source_url)
    df = pd.read_csv(local_file, header=None)
    df.to_csv(path_or_buf="./dataset.csv", index=False)
    dataset = Dataset.create(dataset_project=project, dataset_name=dataset_name)
    dataset.add_files("./dataset.csv")
    dataset.get_logger().report_table(title="sample", series="head", table_plot=df.head())
    dataset.finalize(auto_upload=True)

    print("done create_dataset")
    return dataset.id


@PipelineDecorator.component(cache=True)
def preprocess_dataset(dataset_id: str, columns: list):
    print("starting preprocess_dataset")
    from pathlib import Path

    import pandas as pd

    from taskmill import Dataset

    dataset = Dataset.get(dataset_id=dataset_id)
    local_folder = dataset.get_local_copy()
    df = pd.read_csv(Path(local_folder) / "dataset.csv", header=None, skiprows=1)
    df.columns = columns
    df.to_csv(path_or_buf="./dataset.csv", index=False)

    new_dataset = Dataset.create(
        dataset_project=dataset.project, dataset_name="{} v2".format(dataset.name), parent_datasets=[dataset]
    )
    new_dataset.add_files("./dataset.csv")
    new_dataset.get_logger().report_table(title="sample", series="head", table_plot=df.head())
    new_dataset.finalize(auto_upload=True)

    print("done preprocess_dataset")
    return new_dataset.id


@PipelineDecorator.component(cache=True)
def verify_dataset_integrity(dataset_id: str, expected_num_columns: int):
    print("starting verify_dataset_integrity")
    from pathlib import Path

    import numpy as np
    import pandas as pd

    from taskmill import Dataset, Logger

    dataset = Dataset.get(dataset_id=dataset_id)
    local_folder = dataset.get_local_copy()
    df = pd.read_csv(Path(local_folder) / "dataset.csv")
    print("Verifying dataset")
    assert len(df.columns) == expected_num_columns
    print("PASSED")
    Logger.current_logger().report_histogram(
        title="histogram", series="age", values=np.histogram(df["age"])[0]
    )

    print("done verify_dataset_integrity")
    return True


@PipelineDecorator.component(output_uri=True)
def train_model(dataset_id: str, training_args: dict):
    print("starting train_model")
    from pathlib import Path

    import joblib
    import numpy as np
    import pandas as pd
    from sklearn.ensemble import GradientBoostingRegressor
    from sklearn.model_selection import train_test_split

    from taskmill import Dataset, Task

    dataset = Dataset.get(dataset_id=dataset_id)
    local_folder = dataset.get_local_copy()
    df = pd.read_csv(Path(local_folder) / "dataset.csv")

    X = df[["bmi", "bp", "s1", "s5", "progression"]]
    y = df["age"]
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)
    model = GradientBoostingRegressor(n_estimators=training_args.get("num_boost_round", 100), random_state=0)
    model.fit(X_train, y_train)
    y_pred = model.predict(X_test)

    error = float(np.linalg.norm(y_test - y_pred))
    joblib.dump(model, "a_model.pkl")

    Task.current_task().reload()
    model_id = Task.current_task().models["output"][-1].id
    print("done train_model")
    return dict(error=error, model_id=model_id)


@PipelineDecorator.component(monitor_models=["best"])
def select_best_model(models_score: list):
    print("starting select_best_model:", models_score)
    from taskmill import OutputModel, Task

    best_model = None
    for m in models_score:
        if not best_model or m["error"] < best_model["error"]:
            best_model = m

    print("The best model is {}".format(best_model))
    best_model = OutputModel(base_model_id=best_model["model_id"])
    best_model.connect(task=Task.current_task(), name="best")

    print("done select_best_model")
    return best_model.id


@PipelineDecorator.pipeline(name="tabular_pipeline", project="tabular_pipe_demo", version="0.1")
def pipeline(data_url: str, project: str):
    dataset_id = create_dataset(source_url=data_url, project=project, dataset_name="mock")

    preprocessed_dataset_id = preprocess_dataset(dataset_id=dataset_id, columns=COLUMNS)

    if not bool(
        verify_dataset_integrity(dataset_id=preprocessed_dataset_id, expected_num_columns=len(COLUMNS))
    ):
        print("Verification Failed!")
        return False

    print("start training models")
    models_score = []
    for i in [20, 40]:
        model_score = train_model(dataset_id=preprocessed_dataset_id, training_args=dict(num_boost_round=i))
        models_score.append(model_score)

    model_id = select_best_model(models_score=models_score)
    print("selected model_id = {}".format(model_id))


def write_local_data() -> str:
    from sklearn.datasets import load_diabetes

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "diabetes.data")
    load_diabetes(as_frame=True, scaled=False).frame.to_csv(path, header=False, index=False)
    return path


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=["debug", "local", "remote"], default="local")
    mode = parser.parse_args().mode
    url = write_local_data()
    if mode == "debug":
        PipelineDecorator.debug_pipeline()
    elif mode == "local" and Task.running_locally():
        PipelineDecorator.run_locally()
    elif mode == "remote":
        PipelineDecorator.set_default_execution_queue("default")
    pipeline(data_url=url, project="tabular_pipe_demo")
