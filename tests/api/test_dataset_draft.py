"""Changing a draft: dirty state, sync_folder, external files, upload preview."""

from __future__ import annotations

from pathlib import Path

import pytest

from taskmill import Dataset, Task
from tests.api.test_dataset import content, write


@pytest.fixture(autouse=True)
def _home(tm_home: Path) -> None:
    """Every test here gets its own store and artifact folder."""


def test_dirty_until_uploaded_and_the_preview_table(tmp_path: Path) -> None:
    ds = Dataset.create(dataset_name="ds", dataset_project="p")
    assert not ds.is_dirty()
    ds.add_files(write(tmp_path / "src", {"a.txt": "A", "b/c.txt": "C"}))
    assert ds.is_dirty()
    ds.upload()
    assert not ds.is_dirty()
    (table,) = Task.get_task(task_id=ds.id).get_reported_plots()
    assert table["title"] == "Dataset Content" and table["kind"] == "table"


def test_sync_folder_removes_adds_and_updates(tmp_path: Path) -> None:
    parent = Dataset.create(dataset_name="ds", dataset_project="p")
    parent.add_files(write(tmp_path / "v1", {"keep.txt": "k", "gone.txt": "g", "edit.txt": "1"}))
    parent.finalize(auto_upload=True)
    child = Dataset.create(dataset_name="ds", dataset_project="p", parent_datasets=[parent.id])
    folder = write(tmp_path / "v2", {"keep.txt": "k", "edit.txt": "2", "new.txt": "n"})
    assert child.sync_folder(folder) == (1, 2)
    child.finalize(auto_upload=True)
    assert content(child.get_local_copy()) == {"keep.txt": "k", "edit.txt": "2", "new.txt": "n"}
    assert child.list_removed_files() == ["gone.txt"] and child.list_modified_files() == ["edit.txt"]
    assert child.list_added_files() == ["new.txt"]
    with pytest.raises(ValueError):
        Dataset.create(dataset_name="x", dataset_project="p").sync_folder(tmp_path / "missing")


def test_sync_folder_under_a_dataset_path(tmp_path: Path) -> None:
    ds = Dataset.create(dataset_name="ds", dataset_project="p")
    ds.add_files(write(tmp_path / "root", {"top.txt": "t"}))
    ds.add_files(write(tmp_path / "imgs", {"1.png": "1", "2.png": "2"}), dataset_path="images")
    assert ds.sync_folder(write(tmp_path / "imgs2", {"2.png": "2"}), dataset_path="images") == (1, 0)
    assert ds.list_files() == ["images/2.png", "top.txt"]


def test_external_files_are_stored_in_the_version(tmp_path: Path) -> None:
    remote = write(tmp_path / "remote", {"x.csv": "1,2", "sub/y.csv": "3", "z.txt": "no"})
    ds = Dataset.create(dataset_name="ext", dataset_project="p")
    assert ds.add_external_files(f"file://{remote}", wildcard="*.csv", dataset_path="raw") == 2
    assert ds.add_external_files(str(remote / "z.txt")) == 1
    ds.finalize(auto_upload=True)
    (remote / "x.csv").write_text("changed at the source")
    assert content(ds.get_local_copy()) == {"raw/x.csv": "1,2", "raw/sub/y.csv": "3", "z.txt": "no"}
