"""OutputModel on a real store: design, labels, metadata, weights, publishing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from taskmill import InputModel, Model, OutputModel, Task
from taskmill.api.session import PROCESS

from ..conftest import RunScript
from .conftest import weight_file


def test_output_model_round_trips_through_a_fresh_input_model(tmp_path: Path) -> None:
    task = Task.create(project_name="p", task_name="train")
    model = OutputModel(
        task=task,
        config_dict={"layers": [4, 8], "act": "relu"},
        label_enumeration={"cat": 0, "dog": 1},
        name="net",
        tags=["best"],
        comment="first try",
        framework="PyTorch",
    )
    assert model.url == "" and task.models["output"] == []
    model.set_metadata("accuracy", 0.93)
    model.set_metadata("epochs", "3", "int")
    weights = weight_file(tmp_path)

    url = model.update_weights(weights_filename=str(weights), iteration=3)

    assert url == model.url and weights.exists()  # the local file is kept
    [record] = task.models["output"]
    assert (record.id, record.name, record.uri, record.framework) == (model.id, "net", url, "PyTorch")

    PROCESS.reset()  # forget this process's session: read back as another process would
    loaded = InputModel(model_id=model.id)
    assert Path(loaded.get_local_copy() or "").read_bytes() == weights.read_bytes()
    assert loaded.config_dict == {"layers": [4, 8], "act": "relu"}
    assert loaded.labels == {"cat": 0, "dog": 1}
    assert (loaded.name, loaded.tags, loaded.comment, loaded.framework) == (
        "net",
        ["best"],
        "first try",
        "PyTorch",
    )
    assert (loaded.task, loaded.project, loaded.url, loaded.published) == (task.id, "p", url, False)
    assert loaded.get_metadata("accuracy") == "0.93"
    assert loaded.get_all_metadata()["epochs"] == {"key": "epochs", "value": "3", "type": "int"}
    assert loaded.get_metadata("missing") is None


def test_design_labels_and_publish(tmp_path: Path) -> None:
    model = OutputModel(task=Task.create(project_name="p", task_name="t"), config_text="layers: 4")
    assert model.name == "t"  # defaults to the task's name
    assert model.config_text == "layers: 4"
    with pytest.raises(ValueError, match="not a JSON object; read it as config_text"):
        _ = model.config_dict
    assert model.update_design(config_dict={"layers": 2})
    model.update_labels({"a": 1})
    assert (Model(model.id).config_dict, Model(model.id).labels) == ({"layers": 2}, {"a": 1})
    model.publish()
    assert model.published and Model(model.id).published
    with pytest.raises(ValueError, match="is published and cannot be changed"):
        model.update_weights(weight_file(tmp_path))
    with pytest.raises(ValueError, match="config_text or config_dict, not both"):
        OutputModel(task=Task.create(project_name="p", task_name="t"), config_text="x", config_dict={})


def test_new_weights_replace_the_bytes_at_the_same_url(tmp_path: Path) -> None:
    task = Task.create(project_name="p", task_name="train")
    model = OutputModel(task=task, name="net")
    url = model.update_weights(weight_file(tmp_path, "epoch1.pt", b"one"))
    assert model.update_weights(weight_file(tmp_path, "epoch2.pt", b"two"), iteration=2) == url
    assert [m.uri for m in task.models["output"]] == [url]
    assert Path(InputModel(model.id).get_weights() or "").read_bytes() == b"two"

    twin = OutputModel(task=task, name="net")  # same name, same task: its own artifact and URL
    assert twin.update_weights(weight_file(tmp_path, "epoch1.pt", b"twin")) != url
    assert Path(Model(model.id).get_weights() or "").read_bytes() == b"two"

    with pytest.raises(ValueError, match="a model's URL is fixed once set: registering s3://b/x needs"):
        model.update_weights(register_uri="s3://b/x")
    with pytest.raises(ValueError, match="uploading a package needs a new OutputModel"):
        model.update_weights_package(weights_path=tmp_path)


def test_register_uri_records_without_uploading(tmp_path: Path) -> None:
    task = Task.create(project_name="p", task_name="train")
    model = OutputModel(task=task, name="pretrained")
    assert model.update_weights(register_uri="s3://models/resnet.pt") == "s3://models/resnet.pt"
    assert [m.uri for m in task.models["output"]] == ["s3://models/resnet.pt"]
    assert len(task.artifacts) == 0

    local = weight_file(tmp_path, "local.pt", b"here")
    kept = OutputModel(task=task, name="local")
    kept.update_weights(register_uri=str(local))
    assert InputModel(model_id=kept.id).get_local_copy() == str(local)  # the file itself, no copy
    with pytest.raises(ValueError, match="exactly one of them"):
        kept.update_weights(weights_filename=str(local), register_uri=str(local))


def test_update_output_model_is_an_output_model(tmp_path: Path) -> None:
    task = Task.create(project_name="p", task_name="train")
    record = task.update_output_model(weight_file(tmp_path), name="legacy", tags=["t"], framework="Keras")
    model = InputModel(name="legacy")
    assert (model.id, model.url, model.tags, model.framework) == (record.id, record.uri, ["t"], "Keras")
    assert task.artifacts["model:legacy"].url == record.uri


def test_output_model_needs_a_task() -> None:
    with pytest.raises(
        ValueError, match=re.escape("OutputModel needs a task: pass task=..., or call Task.init")
    ):
        OutputModel()


def test_output_model_defaults_to_the_current_task() -> None:
    task = Task.create(project_name="p", task_name="step")
    token = PROCESS.step_task.set(task)  # as an in-process pipeline step runs
    try:
        model = OutputModel(name="net")
    finally:
        PROCESS.step_task.reset(token)
    assert model.task == task.id


def test_base_model_of_the_same_task_is_continued(tmp_path: Path) -> None:
    task = Task.create(project_name="p", task_name="train")
    first = OutputModel(task=task, name="net", framework="PyTorch", tags=["v1"])
    first.update_weights(weight_file(tmp_path))
    again = OutputModel(task=task, base_model_id=first.id, comment="resumed")
    assert again.id == first.id and (again.name, again.framework, again.comment) == (
        "net",
        "PyTorch",
        "resumed",
    )


def test_base_model_of_another_task_is_taken_over(tmp_path: Path) -> None:
    # ClearML: the model itself is reused (same id) and becomes the new task's output model; the
    # task that trained it still lists it
    train = Task.create(project_name="p", task_name="train")
    first = OutputModel(task=train, name="net", framework="PyTorch", tags=["v1"], comment="trained")
    url = first.update_weights(weight_file(tmp_path))
    first.set_metadata("accuracy", 0.9)
    select = Task.create(project_name="q", task_name="select")
    taken = OutputModel(task=select, base_model_id=first.id, comment="chosen")
    assert taken.id == first.id and taken.url == url and taken.task == select.id
    assert (taken.name, taken.tags, taken.framework) == ("net", ["v1"], "PyTorch")
    assert taken.comment == "trained\nchosen" and taken.get_metadata("accuracy") == "0.9"
    taken.connect(select, name="best")  # the name the task knows it by (monitor_models uses it)
    assert [(m.id, m.name, m.uri) for m in select.models["output"]] == [(first.id, "best", url)]
    assert select.output_models_id == {"best": first.id}
    assert [m.id for m in train.models["output"]] == [first.id]
    assert [m.id for m in train.get_models()["output"]] == [first.id]
    PROCESS.reset()  # read back as another process would
    found = Model(first.id)
    assert (found.task, found.project, found.name) == (select.id, "q", "net")
    assert Path(found.get_local_copy() or "").read_bytes() == weight_file(tmp_path).read_bytes()
    assert [m.id for m in Model.query_models(model_name="net")] == [first.id]


def test_new_weights_of_a_taken_over_model_replace_the_bytes_at_its_url(tmp_path: Path) -> None:
    train = Task.create(project_name="p", task_name="train")
    first = OutputModel(task=train, name="net")
    url = first.update_weights(weight_file(tmp_path))
    resumed = OutputModel(task=Task.create(project_name="p", task_name="resume"), base_model_id=first.id)
    newer = tmp_path / "newer.bin"
    newer.write_bytes(b"fine-tuned")
    assert resumed.update_weights(str(newer)) == url
    assert Path(InputModel(model_id=first.id).get_local_copy() or "").read_bytes() == b"fine-tuned"


def test_a_model_without_weights_is_taken_over_too(tmp_path: Path) -> None:
    train = Task.create(project_name="p", task_name="train")
    draft = OutputModel(task=train, name="draft", config_dict={"k": 1})
    other = Task.create(project_name="p", task_name="other")
    taken = OutputModel(task=other, base_model_id=draft.id)
    assert taken.id == draft.id and taken.config_dict == {"k": 1} and taken.task == other.id
    taken.update_weights(weight_file(tmp_path))
    assert [m.id for m in other.models["output"]] == [draft.id] and train.models["output"] == []


def test_clearml_style_scripts_train_then_load(run_script: RunScript) -> None:
    train = run_script(
        """
        from taskmill import Task, OutputModel

        task = Task.init(project_name="demo", task_name="train")
        model = OutputModel(config_dict={"hidden": 16}, label_enumeration={"a": 0, "b": 1},
                            name="mnist-net", tags=["v1"], framework="PyTorch")
        model.set_metadata("accuracy", 0.97)
        with open("weights.bin", "wb") as f:
            f.write(b"\\x00trained\\x01")
        print("URL", model.update_weights(weights_filename="weights.bin", iteration=3))
        """,
        name="train.py",
    )
    assert train.returncode == 0, train.stderr
    load = run_script(
        """
        from taskmill import Task, InputModel

        task = Task.init(project_name="demo", task_name="eval")
        model = InputModel(name="mnist-net", project="demo", tags=["v1"])
        task.connect(model)
        with open(model.get_local_copy(), "rb") as f:
            data = f.read()
        design, labels = model.config_dict, model.labels
        print("LOADED", data.hex(), design["hidden"], labels["b"], model.get_metadata("accuracy"))
        """,
        name="load.py",
    )
    assert load.returncode == 0, load.stderr
    expected = b"\x00trained\x01".hex()
    assert f"LOADED {expected} 16 1 0.97" in load.stdout
    url = train.stdout.split("URL ", 1)[1].strip()
    assert [m.uri for m in Task.get_task(project_name="demo", task_name="train").models["output"]] == [url]
    assert [m.uri for m in Task.get_task(project_name="demo", task_name="eval").models["input"]] == [url]
