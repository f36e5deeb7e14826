"""Model metadata, archive and publish, typed metadata reads, weights with extract_archive."""

from __future__ import annotations

from pathlib import Path

from taskmill import InputModel, Model, OutputModel, Task
from tests.api.model.conftest import trained


def test_metadata_round_trips_with_its_type(tmp_path: Path) -> None:
    model = trained("p", "net", tmp_path)
    model.set_metadata("epochs", 3)
    model.set_all_metadata(
        {"lr": 0.1, "layers": [1, 2], "ok": {"value": True, "type": "bool"}}, replace=False
    )
    again = Model(model.id)
    assert again.get_metadata("epochs") == "3" and again.get_metadata_casted("epochs") == 3
    assert again.get_all_metadata_casted() == {"epochs": 3, "lr": 0.1, "layers": [1, 2], "ok": True}
    Model(model.id).set_all_metadata({"only": "this"})  # replace=True drops the others
    assert again.get_all_metadata_casted() == {"only": "this"}
    assert again.get_metadata_casted("missing") is None


def test_archive_hides_from_lookups_until_unarchived(tmp_path: Path) -> None:
    model = trained("p", "net", tmp_path)
    handle = Model(model.id)
    handle.archive()
    handle.archive()  # idempotent
    assert handle.system_tags == [Model.archived_tag]
    assert Model.query_models(model_name="net") == []
    assert [m.id for m in Model.query_models(model_name="net", include_archived=True)] == [model.id]
    assert InputModel.load_model(model.url) is None
    assert InputModel.load_model(model.url, load_archived=True) is not None
    handle.unarchive()
    assert [m.id for m in Model.query_models(model_name="net")] == [model.id]
    assert handle.original_task == model.task


def test_publish_from_any_handle_freezes_the_model(tmp_path: Path) -> None:
    model = trained("p", "net", tmp_path)
    InputModel(model_id=model.id).publish()
    assert model.published
    try:
        model.update_labels({"a": 1})
    except ValueError as exc:
        assert "published" in str(exc)
    else:
        raise AssertionError("a published model must not change")


def test_get_weights_of_a_package_extracted_or_not(tmp_path: Path) -> None:
    folder = tmp_path / "pkg"
    folder.mkdir()
    (folder / "a.txt").write_text("A")
    model = OutputModel(task=Task.create(project_name="p", task_name="t"), name="pkg")
    model.update_weights_package(weights_path=str(folder))
    zipped = model.get_weights()
    assert zipped is not None and Path(zipped).is_file()
    extracted = model.get_weights(extract_archive=True)
    assert extracted is not None and (Path(extracted) / "a.txt").read_text() == "A"
    assert model.get_weights_package(extract_archive=False) == zipped


def test_import_load_and_empty_models(tmp_path: Path) -> None:
    weights = tmp_path / "outside.bin"
    weights.write_bytes(b"W")
    imported = InputModel.import_model(
        str(weights), config_dict={"d": 1}, label_enumeration={"x": 0}, name="ext", project="zoo", tags=["t"]
    )
    assert (imported.name, imported.url, imported.labels, imported.tags) == (
        "ext",
        str(weights),
        {"x": 0},
        ["t"],
    )
    assert imported.config_dict == {"d": 1} and imported.project == "zoo"
    assert Path(str(imported.get_weights())).read_bytes() == b"W"
    assert InputModel.import_model(str(weights)).id == imported.id  # same URL: the same model
    loaded = InputModel.load_model(str(weights))
    assert loaded is not None and loaded.id == imported.id
    assert InputModel.load_model(str(tmp_path / "nothing")) is None
    user = Task.create(project_name="p", task_name="use")
    loaded.connect(user, name="start")
    assert [m.uri for m in user.models["input"]] == [str(weights)]
    empty = InputModel.empty(config_text="design", label_enumeration={"a": 1})
    assert (empty.url, empty.config_text, empty.labels) == ("", "design", {"a": 1})
    assert Model(empty.id).labels == {"a": 1}
