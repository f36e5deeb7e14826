"""Dataset description: tags, description, metadata, logger, publish, rename/move, dependency graph."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from taskmill import Dataset, Task
from taskmill.errors import ConflictError, NotFoundError
from tests.api.test_dataset import write


@pytest.fixture(autouse=True)
def _home(tm_home: Path) -> None:
    """Every test here gets its own store and artifact folder."""


def _final(tmp_path: Path, name: str = "ds", parents: list[str] | None = None) -> Dataset:
    ds = Dataset.create(dataset_name=name, dataset_project="p", parent_datasets=parents)
    ds.add_files(write(tmp_path / f"{name}-{len(parents or [])}", {"a.txt": name}))
    ds.upload()
    ds.finalize()
    return ds


def test_tags_description_metadata_and_logger(tmp_path: Path) -> None:
    ds = Dataset.create(dataset_name="ds", dataset_project="p", dataset_tags=["a"])
    ds.tags = ["b"]
    ds.add_tags(["c", "b"])
    ds.set_description("numbers")
    frame = pd.DataFrame({"n": [1, 2]})
    ds.set_metadata(frame, metadata_name="stats")
    logger = ds.get_logger()
    logger.report_text("preview attached", print_console=False)
    logger.flush()
    again = Dataset.get(dataset_id=ds.id)
    assert again.tags == ["b", "c"] and again.description == "numbers"
    assert again.get_metadata("stats")["n"].tolist() == [1, 2]
    assert again.get_metadata() is None
    task = Task.get_task(task_id=ds.id)
    assert [p["title"] for p in task.get_reported_plots()] == ["stats"]
    assert "preview attached" in task.get_reported_console_output()
    with pytest.raises(ValueError, match="reserved"):
        ds.set_metadata({}, metadata_name="data")


def test_publish_only_a_finalized_version(tmp_path: Path) -> None:
    draft = Dataset.create(dataset_name="d", dataset_project="p")
    with pytest.raises(ConflictError):
        draft.publish()
    assert draft.publish(raise_on_error=False) is False
    final = _final(tmp_path)
    assert (
        final.publish()
        and Dataset.get(dataset_project="p", dataset_name="ds", only_published=True).id == final.id
    )


def test_rename_and_move_apply_to_every_version(tmp_path: Path) -> None:
    first = _final(tmp_path)
    second = _final(tmp_path, parents=[first.id])
    Dataset.rename("renamed", dataset_project="p", dataset_name="ds")
    assert {d["id"] for d in Dataset.list_datasets(dataset_project="p", partial_name="renamed")} == {
        first.id,
        second.id,
    }
    Dataset.move_to_project("q", dataset_project="p", dataset_name="renamed")
    moved = Dataset.get(dataset_project="q", dataset_name="renamed")
    assert moved.id == second.id and moved.project == "q"
    with pytest.raises(NotFoundError):
        Dataset.rename("x", dataset_project="p", dataset_name="renamed")


def test_dependency_graph_and_entries(tmp_path: Path) -> None:
    a = _final(tmp_path, "a")
    b = _final(tmp_path, "b")
    child = _final(tmp_path, "c", parents=[a.id, b.id])
    assert child.get_dependency_graph() == {child.id: [a.id, b.id], a.id: [], b.id: []}
    assert [e["relative_path"] for e in child.file_entries] == ["a.txt"]
    assert (
        child.link_entries == [] and child.get_default_storage() == Task.get_task(task_id=child.id).output_uri
    )
