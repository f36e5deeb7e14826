"""Finding models: InputModel and Model by id, name, project, tags and metadata; connecting inputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from taskmill import InputModel, Model, OutputModel, Task
from taskmill.api.model import ModelNotFoundError

from .conftest import trained


def test_lookup_by_name_project_and_tags_picks_the_newest(tmp_path: Path) -> None:
    old = trained("p", "net", tmp_path)
    other = trained("q", "net", tmp_path)
    new = trained("p", "net", tmp_path, tags=("x",))
    OutputModel(task=Task.create(project_name="p", task_name="t"), name="net")  # no weights: not found

    assert InputModel(name="net").id == new.id
    assert InputModel(name="net", project="p").id == new.id
    assert InputModel(name="net", project="q").id == other.id
    assert InputModel(name="net", tags=["-x"]).id == other.id
    assert InputModel(name="net", project="p", tags=["-x"]).id == old.id
    assert InputModel(name="net", tags=["x"]).id == new.id


def test_query_models_filters(tmp_path: Path) -> None:
    a = trained("p", "a", tmp_path, tags=("prod",))
    b = trained("p", "b", tmp_path)
    c = trained("q", "a", tmp_path, tags=("prod", "big"))
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
    source = trained("p", "net", tmp_path)
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


def test_no_match_is_a_clear_error() -> None:
    with pytest.raises(ModelNotFoundError, match="no model named 'nope' in project 'p' with tags \\['x'\\]"):
        InputModel(name="nope", project="p", tags=["x"])
    assert Model.query_models(model_name="nope") == []
