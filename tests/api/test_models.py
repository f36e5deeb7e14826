"""OutputModel, InputModel and Model on a real store: weights, design, lookup, connect, errors."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from taskmill import InputModel, Model, OutputModel, Task
from taskmill.api.model import ModelNotFoundError
from taskmill.api.session import PROCESS
from taskmill.errors import NotFoundError

from .conftest import RunScript


@pytest.fixture(autouse=True)
def _home(tm_home: Path) -> None:
    """Every test here gets its own store."""


def _weights(folder: Path, name: str = "w.bin", data: bytes = b"\x00weights\xff") -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _trained(project: str, name: str, folder: Path, tags: tuple[str, ...] = ()) -> OutputModel:
    """A model with weights, of a new task in ``project``."""
    model = OutputModel(task=Task.create(project_name=project, task_name="train"), name=name, tags=tags)
    model.update_weights(_weights(folder / model.id))
    return model


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
    weights = _weights(tmp_path)

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
        model.update_weights(_weights(tmp_path))
    with pytest.raises(ValueError, match="config_text or config_dict, not both"):
        OutputModel(task=Task.create(project_name="p", task_name="t"), config_text="x", config_dict={})


def test_new_weights_replace_the_bytes_at_the_same_url(tmp_path: Path) -> None:
    task = Task.create(project_name="p", task_name="train")
    model = OutputModel(task=task, name="net")
    url = model.update_weights(_weights(tmp_path, "epoch1.pt", b"one"))
    assert model.update_weights(_weights(tmp_path, "epoch2.pt", b"two"), iteration=2) == url
    assert [m.uri for m in task.models["output"]] == [url]
    assert Path(InputModel(model.id).get_weights() or "").read_bytes() == b"two"

    twin = OutputModel(task=task, name="net")  # same name, same task: its own artifact and URL
    assert twin.update_weights(_weights(tmp_path, "epoch1.pt", b"twin")) != url
    assert Path(Model(model.id).get_weights() or "").read_bytes() == b"two"

    with pytest.raises(ValueError, match="a model's URL is fixed once set: registering s3://b/x needs"):
        model.update_weights(register_uri="s3://b/x")
    with pytest.raises(ValueError, match="uploading a package needs a new OutputModel"):
        model.update_weights_package(weights_path=tmp_path)


def test_package_comes_back_as_a_folder(tmp_path: Path) -> None:
    src = tmp_path / "ckpt"
    _weights(src, "model.bin", b"m")
    _weights(src, "sub/vocab.txt", b"v")
    task = Task.create(project_name="p", task_name="train")
    model = OutputModel(task=task, name="pkg")
    url = model.update_weights(str(src))  # a folder is a package
    assert url.endswith("ckpt.zip")

    folder = Path(InputModel(model_id=model.id).get_local_copy() or "")
    assert folder.is_dir()
    assert (folder / "model.bin").read_bytes() == b"m" and (folder / "sub" / "vocab.txt").read_bytes() == b"v"
    assert Path(Model(model.id).get_weights() or "").suffix == ".zip"
    assert Model(model.id).get_local_copy(extract_archive=False) == Model(model.id).get_weights()
    listed = Model(model.id).get_weights_package()
    assert isinstance(listed, list) and sorted(p.name for p in listed) == ["model.bin", "sub"]

    files = OutputModel(task=task, name="files")
    files.update_weights_package(weights_filenames=[src / "model.bin", src / "sub" / "vocab.txt"])
    extracted = Path(str(Model(files.id).get_weights_package(return_path=True)))
    assert (extracted / "sub" / "vocab.txt").read_bytes() == b"v"
    with pytest.raises(ValueError, match="is not a package; read it with get_weights"):
        _trained("p", "single", tmp_path).get_weights_package()


def test_register_uri_records_without_uploading(tmp_path: Path) -> None:
    task = Task.create(project_name="p", task_name="train")
    model = OutputModel(task=task, name="pretrained")
    assert model.update_weights(register_uri="s3://models/resnet.pt") == "s3://models/resnet.pt"
    assert [m.uri for m in task.models["output"]] == ["s3://models/resnet.pt"]
    assert len(task.artifacts) == 0

    local = _weights(tmp_path, "local.pt", b"here")
    kept = OutputModel(task=task, name="local")
    kept.update_weights(register_uri=str(local))
    assert InputModel(model_id=kept.id).get_local_copy() == str(local)  # the file itself, no copy
    with pytest.raises(ValueError, match="exactly one of them"):
        kept.update_weights(weights_filename=str(local), register_uri=str(local))


def test_lookup_by_name_project_and_tags_picks_the_newest(tmp_path: Path) -> None:
    old = _trained("p", "net", tmp_path)
    other = _trained("q", "net", tmp_path)
    new = _trained("p", "net", tmp_path, tags=("x",))
    OutputModel(task=Task.create(project_name="p", task_name="t"), name="net")  # no weights: not found

    assert InputModel(name="net").id == new.id
    assert InputModel(name="net", project="p").id == new.id
    assert InputModel(name="net", project="q").id == other.id
    assert InputModel(name="net", tags=["-x"]).id == other.id
    assert InputModel(name="net", project="p", tags=["-x"]).id == old.id
    assert InputModel(name="net", tags=["x"]).id == new.id


def test_query_models_filters(tmp_path: Path) -> None:
    a = _trained("p", "a", tmp_path, tags=("prod",))
    b = _trained("p", "b", tmp_path)
    c = _trained("q", "a", tmp_path, tags=("prod", "big"))
    c.set_metadata("acc", 0.9)
    b.publish()

    def ids(**filters: Any) -> list[str]:
        return [m.id for m in Model.query_models(**filters)]

    assert ids() == [c.id, b.id, a.id]
    assert all(type(m) is Model for m in Model.query_models())
    assert ids(project_name="p") == [b.id, a.id]
    assert ids(model_name="a") == [c.id, a.id]
    assert ids(tags=["prod"]) == [c.id, a.id]
    assert ids(tags=["prod", "-big"]) == [a.id]
    assert ids(only_published=True) == [b.id]
    assert ids(metadata={"acc": 0.9}) == [c.id]
    assert ids(max_results=2) == [c.id, b.id]
    assert ids(project_name="nowhere") == []


def test_task_connect_records_an_input_model(tmp_path: Path) -> None:
    source = _trained("p", "net", tmp_path)
    consumer = Task.create(project_name="p", task_name="eval")
    model = InputModel(name="net")

    assert consumer.connect(model) is model
    consumer.connect(model)  # again: no second record
    model.connect(consumer, name="backbone")
    records = consumer.models["input"]
    assert [(m.name, m.uri) for m in records] == [("net", source.url), ("backbone", source.url)]
    assert consumer.models["output"] == []
    # an input record's id leads back to the model it came from
    assert Model(records[0].id).id == source.id and Model(records[0].id).task == source.task

    own = OutputModel(task=consumer)
    assert consumer.connect(own) is own
    with pytest.raises(ValueError, match="belongs to task"):
        Task.create(project_name="p", task_name="x").connect(own)


def test_update_output_model_is_an_output_model(tmp_path: Path) -> None:
    task = Task.create(project_name="p", task_name="train")
    record = task.update_output_model(_weights(tmp_path), name="legacy", tags=["t"], framework="Keras")
    model = InputModel(name="legacy")
    assert (model.id, model.url, model.tags, model.framework) == (record.id, record.uri, ["t"], "Keras")
    assert task.artifacts["model:legacy"].url == record.uri


def test_clear_errors() -> None:
    with pytest.raises(
        ValueError, match=re.escape("OutputModel needs a task: pass task=..., or call Task.init")
    ):
        OutputModel()
    missing = "0" * 32
    with pytest.raises(ModelNotFoundError, match=f"no model with id '{missing}'") as info:
        InputModel(model_id=missing)
    assert isinstance(info.value, NotFoundError) and isinstance(info.value, ValueError)
    with pytest.raises(ModelNotFoundError, match="no model named 'nope' in project 'p' with tags \\['x'\\]"):
        InputModel(name="nope", project="p", tags=["x"])
    assert Model.query_models(model_name="nope") == []
    model = OutputModel(task=Task.create(project_name="p", task_name="t"))
    assert model.get_local_copy() is None  # no weights yet: None, as ClearML
    with pytest.raises(ValueError, match="has no weights yet"):
        model.get_local_copy(raise_on_error=True)


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
