"""The dataset layout in the task store: hidden projects, finding versions, version numbers."""

from __future__ import annotations

from pathlib import Path

from taskmill import Task
from taskmill.api.dataset_layout import (
    SYSTEM_TAG,
    cache_dir,
    find_versions,
    hidden_project,
    next_version,
    parents_of,
    split_project,
)


def version(project: str, name: str, number: str, *, parents: tuple[str, ...] = ()) -> Task:
    """A dataset version task laid out as ``Dataset.create`` lays it out."""
    task = Task.create(project_name=hidden_project(project, name), task_name=name)
    task.set_system_tags([SYSTEM_TAG])
    task.set_runtime_properties({"version": number, "dataset_parents": list(parents)})
    return task


def test_versions_are_found_by_project_and_name_newest_first(tm_home: Path) -> None:
    first = version("proj", "images", "1.0.0")
    second = version("proj", "images", "1.0.1", parents=(first.id,))
    other = version("proj/sub", "text", "2.0")
    Task.create(project_name=hidden_project("proj", "images"), task_name="images")  # not tagged

    assert [r.id for r in find_versions("proj", "images")] == [second.id, first.id]
    assert {r.id for r in find_versions("proj", None)} == {first.id, second.id}  # not proj/sub's
    assert [r.id for r in find_versions(None, "text")] == [other.id]
    second.set_archived(True)
    assert [r.id for r in find_versions("proj", "images", include_archived=False)] == [first.id]
    assert parents_of(second.data) == [first.id] and parents_of(first.data) == []
    assert split_project(other.data) == ("proj/sub", "text")


def test_next_version_bumps_the_newest_or_starts_at_1_0_0(tm_home: Path) -> None:
    assert next_version("proj", "images") == "1.0.0"
    version("proj", "images", "1.0.9")
    assert next_version("proj", "images") == "1.0.10"
    version("proj", "named", "beta")
    assert next_version("proj", "named") == "beta.1"


def test_split_project_of_a_plain_task_and_the_cache_folder(tm_home: Path) -> None:
    plain = Task.create(project_name="p", task_name="t")
    assert split_project(plain.data) == ("p", "t")
    assert cache_dir("abc") == tm_home / "cache" / "datasets" / "abc"
