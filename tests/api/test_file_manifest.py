"""FileManifest on real files: collecting, adding against parents, removing, diffs, materializing."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from taskmill.api.file_manifest import Entry, FileManifest, matches


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def no_parents() -> dict[str, Entry]:
    return {}


def test_collect_a_folder_with_wildcards_base_and_prefix(tmp_path: Path) -> None:
    write(tmp_path / "data" / "a.csv", "a")
    write(tmp_path / "data" / "img" / "b.png", "b")
    write(tmp_path / "data" / "img" / "c.txt", "c")
    folder = tmp_path / "data"

    def rels(
        wildcard: str | list[str] | None = None,
        local_base_folder: Path | None = None,
        dataset_path: str | None = None,
        recursive: bool = True,
    ) -> list[str]:
        found = FileManifest.collect(
            folder,
            wildcard=wildcard,
            local_base_folder=local_base_folder,
            dataset_path=dataset_path,
            recursive=recursive,
        )
        assert found is not None
        return [rel for _, rel in found]

    assert rels() == ["a.csv", "img/b.png", "img/c.txt"]
    assert rels(recursive=False) == ["a.csv"]
    assert rels(wildcard="*.png") == ["img/b.png"]
    assert rels(wildcard=["img/*", "*.csv"]) == ["a.csv", "img/b.png", "img/c.txt"]
    assert rels(dataset_path="/raw/") == ["raw/a.csv", "raw/img/b.png", "raw/img/c.txt"]
    assert rels(local_base_folder=tmp_path) == ["data/a.csv", "data/img/b.png", "data/img/c.txt"]
    one = FileManifest.collect(
        folder / "a.csv", wildcard=None, local_base_folder=None, dataset_path=None, recursive=True
    )
    assert one is not None and [rel for _, rel in one] == ["a.csv"]
    missing = FileManifest.collect(
        tmp_path / "nope", wildcard=None, local_base_folder=None, dataset_path=None, recursive=True
    )
    assert missing is None


def test_add_skips_unchanged_files_and_reuses_identical_parent_entries(tmp_path: Path) -> None:
    same = write(tmp_path / "same.txt", "same")
    new = write(tmp_path / "new.txt", "new")
    digest = hashlib.sha256(b"same").hexdigest()
    parents = {"same.txt": {"size": 4, "hash": digest, "parent_dataset_id": "parent"}}
    asked: list[int] = []

    def parent_files() -> dict[str, Entry]:
        asked.append(1)
        return parents

    manifest = FileManifest()
    changed = manifest.add([(same, "same.txt"), (new, "new.txt")], owner="me", parents=parent_files)
    assert changed == ["same.txt", "new.txt"]
    assert manifest.files["same.txt"] == parents["same.txt"]  # the parent stores the bytes
    assert manifest.files["new.txt"]["parent_dataset_id"] == "me"
    assert manifest.files["new.txt"]["local_path"] == str(new.resolve())
    assert manifest.pending == {"new.txt"}
    assert manifest.owned_by("me") == {"new.txt": manifest.files["new.txt"]}
    assert manifest.owners() == {"me", "parent"}

    asked.clear()
    assert manifest.add([(new, "new.txt")], owner="me", parents=parent_files) == []
    assert asked == []  # an unchanged file does not need the parents

    manifest.seal()
    assert "local_path" not in manifest.files["new.txt"]
    assert manifest.public()["new.txt"] == {
        "size": 3,
        "hash": hashlib.sha256(b"new").hexdigest(),
        "parent_dataset_id": "me",
    }


def test_remove_records_removals_of_parent_files_only(tmp_path: Path) -> None:
    files = {
        rel: {"size": 1, "hash": rel, "parent_dataset_id": "p"}
        for rel in ("img/a.png", "img/deep/b.png", "notes.txt")
    }
    manifest = FileManifest(files, pending=["notes.txt"])
    parents = {"img/a.png": files["img/a.png"]}
    assert manifest.remove("img", recursive=False, parents=lambda: parents) == ["img/a.png"]
    assert manifest.remove("*.txt", recursive=True, parents=lambda: parents) == ["notes.txt"]
    assert manifest.removed == {"img/a.png"} and manifest.pending == set()
    assert list(manifest.files) == ["img/deep/b.png"]


def test_diffs_against_parents_and_content_round_trip() -> None:
    parents = {
        "kept": {"size": 1, "hash": "k", "parent_dataset_id": "p"},
        "changed": {"size": 1, "hash": "old", "parent_dataset_id": "p"},
        "gone": {"size": 1, "hash": "g", "parent_dataset_id": "p"},
    }
    manifest = FileManifest(
        {
            "kept": parents["kept"],
            "changed": {"size": 1, "hash": "new", "parent_dataset_id": "me"},
            "added": {"size": 1, "hash": "a", "parent_dataset_id": "me"},
        },
        removed=["gone"],
    )
    assert manifest.added_to(parents) == ["added"]
    assert manifest.modified_from(parents) == ["changed"]
    assert manifest.removed_from(parents) == ["gone"]
    content = manifest.to_content()
    assert list(content["files"]) == ["added", "changed", "kept"] and content["removed"] == ["gone"]
    again = FileManifest.from_content(content)
    assert again.to_content() == content
    assert FileManifest.from_content({}).to_content() == {"files": {}, "removed": [], "pending": []}


@pytest.mark.parametrize(
    ("rel", "pattern", "recursive", "expected"),
    [
        ("a/b/c.png", "a", True, True),
        ("a/b/c.png", "a", False, False),
        ("a/c.png", "a", False, True),
        ("a/b/c.png", "*.png", True, True),
        ("a/b/c.png", "*.png", False, True),  # fnmatch's * crosses folders
        ("a/b/c.png", "c.png", True, True),
        ("a/b/c.png", "c.png", False, False),
        ("ab/c.png", "a", True, False),
    ],
)
def test_matches(rel: str, pattern: str, recursive: bool, expected: bool) -> None:
    assert matches(rel, pattern, recursive=recursive) is expected


def test_materialize_builds_a_read_only_folder_from_each_owner_once(tmp_path: Path) -> None:
    write(tmp_path / "stored-a" / "x.txt", "x")
    write(tmp_path / "stored-b" / "sub" / "y.txt", "y")
    manifest = FileManifest(
        {
            "x.txt": {"size": 1, "hash": "x", "parent_dataset_id": "a"},
            "sub/y.txt": {"size": 1, "hash": "y", "parent_dataset_id": "b"},
        }
    )
    asked: list[str] = []

    def folder_of(owner: str) -> str:
        asked.append(owner)
        return str(tmp_path / f"stored-{owner}")

    target = tmp_path / "cache" / "ds"
    manifest.materialize(target, folder_of=folder_of)
    assert sorted(asked) == ["a", "b"]
    assert (target / "x.txt").read_text() == "x" and (target / "sub" / "y.txt").read_text() == "y"
    assert not os.access(target / "x.txt", os.W_OK) or os.geteuid() == 0
    assert [p.name for p in target.parent.iterdir()] == ["ds"]  # no staging folder left behind

    manifest.materialize(target, folder_of=folder_of)  # built already: the first build is kept
    assert [p.name for p in target.parent.iterdir()] == ["ds"]
