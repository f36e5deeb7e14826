"""Squashing dataset versions into one version without parents."""

from __future__ import annotations

from pathlib import Path

import pytest

from taskmill import Dataset
from tests.api.test_dataset import content, write


@pytest.fixture(autouse=True)
def _home(tm_home: Path) -> None:
    """Every test here gets its own store and artifact folder."""


def test_squash_merges_content_later_wins(tmp_path: Path) -> None:
    a = Dataset.create(dataset_name="a", dataset_project="p")
    a.add_files(write(tmp_path / "a", {"x.txt": "a", "only_a.txt": "1"}))
    a.finalize(auto_upload=True)
    b = Dataset.create(dataset_name="b", dataset_project="p")
    b.add_files(write(tmp_path / "b", {"x.txt": "b"}))
    b.finalize(auto_upload=True)
    squashed = Dataset.squash("both", dataset_ids=[a.id], dataset_project_name_pairs=[("p", "b")])
    assert squashed.is_final() and squashed.get_parents() == []
    assert content(squashed.get_local_copy()) == {"x.txt": "b", "only_a.txt": "1"}
    with pytest.raises(ValueError, match="at least two"):
        Dataset.squash("one", dataset_ids=[a.id])
    draft = Dataset.squash("open", dataset_ids=[a.id, b.id], close_squashed_dataset=False)
    assert not draft.is_final()
