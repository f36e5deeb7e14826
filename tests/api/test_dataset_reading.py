"""Reading a version: hash verification of a local copy, ClearML's ignored arguments."""

from __future__ import annotations

from pathlib import Path

import pytest

from taskmill import Dataset
from tests.api.test_dataset import content, write


@pytest.fixture(autouse=True)
def _home(tm_home: Path) -> None:
    """Every test here gets its own store and artifact folder."""


def test_verify_dataset_hash_finds_changed_and_missing_files(tmp_path: Path) -> None:
    ds = Dataset.create(dataset_name="ds", dataset_project="p")
    ds.add_files(write(tmp_path / "src", {"a.txt": "A", "b.txt": "B", "c.txt": "C"}))
    ds.finalize(auto_upload=True)
    assert ds.verify_dataset_hash() == []
    copy = Path(ds.get_mutable_local_copy(tmp_path / "copy"))
    (copy / "a.txt").write_text("X")  # same size, other content
    (copy / "b.txt").unlink()
    assert ds.verify_dataset_hash(copy) == ["a.txt", "b.txt"]
    assert ds.verify_dataset_hash(copy, skip_hash=True) == ["b.txt"]


def test_clearml_arguments_are_accepted(tmp_path: Path) -> None:
    ds = Dataset.create(dataset_name="ds", dataset_project="p")
    ds.add_files(write(tmp_path / "src", {"a.txt": "A"}))
    ds.upload(preview=False, upload_as_external_links=False)
    ds.finalize()
    found = Dataset.get(dataset_project="p", dataset_name="ds", silence_alias_warnings=True)
    assert content(found.get_local_copy(part=0, num_parts=2, files=["a.txt"])) == {"a.txt": "A"}
