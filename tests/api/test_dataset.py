"""clearml-data's ``Dataset`` on taskmill: versions, inheritance, uploads, local copies, S3."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from taskmill import Dataset, Task
from taskmill.errors import ConflictError, NotFoundError
from tests.api.conftest import RunScript
from tests.plugins.s3 import S3Server


@pytest.fixture(autouse=True)
def _home(tm_home: Path) -> None:
    """Every test here gets its own store and artifact folder."""


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def content(folder: str | Path) -> dict[str, str]:
    root = Path(folder)
    return {p.relative_to(root).as_posix(): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def stored_names(ds: Dataset) -> list[str]:
    """Relative paths inside the version's own ``data`` zip."""
    url = Task.get_task(task_id=ds.id).artifacts["data"].url
    with zipfile.ZipFile(url) as archive:
        return sorted(n for n in archive.namelist() if not n.endswith("/"))


def make_base(tmp_path: Path, name: str = "images") -> Dataset:
    src = write(tmp_path / "src", {"a.txt": "A", "sub/b.txt": "B", "sub/deep/c.txt": "C", "x.csv": "1,2"})
    ds = Dataset.create(dataset_name=name, dataset_project="proj")
    assert ds.add_files(src, wildcard="*.txt") == 3
    assert ds.add_files(src / "x.csv", dataset_path="tables") == 1
    ds.upload()
    assert ds.finalize()
    return ds


def test_create_add_upload_finalize_and_get(tmp_path: Path) -> None:
    ds = make_base(tmp_path)
    assert ds.is_final() and ds.version == "1.0.0" and ds.project == "proj" and ds.name == "images"
    assert ds.list_files() == ["a.txt", "sub/b.txt", "sub/deep/c.txt", "tables/x.csv"]
    assert ds.list_files("sub", recursive=False) == ["sub/b.txt"]
    entry = ds.file_entries_dict["sub/b.txt"]
    assert entry["size"] == 1 and entry["parent_dataset_id"] == ds.id and len(entry["hash"]) == 64
    task = Task.get_task(task_id=ds.id)
    assert task.project == "proj/.datasets/images" and task.task_type == "data_processing"
    assert "dataset" in task.get_system_tags() and task.status == "completed"
    recorded = json.loads(task.get_configuration_object("Dataset Content") or "{}")
    assert sorted(recorded["files"]) == ds.list_files()
    assert ds.get_num_chunks() == 1
    newer = Dataset.create(dataset_name="images", dataset_project="proj", parent_datasets=[ds])
    got = Dataset.get(dataset_project="proj", dataset_name="images")
    assert got.id == newer.id and got.version == "1.0.1" and not got.is_final()
    assert Dataset.get(dataset_project="proj", dataset_name="images", only_completed=True).id == ds.id
    assert Dataset.get(ds.id).list_files() == ds.list_files()
    writable = Dataset.get(ds.id, writable_copy=True)
    assert writable.get_parents() == [ds.id] and writable.list_files() == ds.list_files()


def test_child_version_adds_modifies_removes(tmp_path: Path) -> None:
    base = make_base(tmp_path)
    child = Dataset.create(dataset_name="images", dataset_project="proj", parent_datasets=[base.id])
    assert child.get_parents() == [base.id] and child.list_files() == base.list_files()
    changes = write(tmp_path / "v2", {"a.txt": "A", "sub/b.txt": "B2", "new/d.txt": "D"})
    assert child.add_files(changes) == 2  # a.txt is unchanged: not counted, not stored
    assert child.remove_files("sub/deep/*") == 1
    assert child.list_added_files() == ["new/d.txt"]
    assert child.list_modified_files() == ["sub/b.txt"]
    assert child.list_removed_files() == ["sub/deep/c.txt"]
    assert child.file_entries_dict["a.txt"]["parent_dataset_id"] == base.id
    child.upload()
    child.finalize()
    assert stored_names(child) == ["new/d.txt", "sub/b.txt"]
    assert child.get_num_chunks() == 2 and child.get_num_chunks(include_parents=False) == 1
    local = child.get_local_copy()
    assert content(local) == {"a.txt": "A", "sub/b.txt": "B2", "new/d.txt": "D", "tables/x.csv": "1,2"}
    assert content(base.get_local_copy())["sub/b.txt"] == "B"


def test_local_copy_is_cached_and_mutable_copy(tmp_path: Path, tm_home: Path) -> None:
    ds = make_base(tmp_path)
    first = ds.get_local_copy()
    assert Path(first).is_relative_to(tm_home / "cache")
    marker = Path(first) / "a.txt"
    mtime = marker.stat().st_mtime_ns
    assert Dataset.get(ds.id).get_local_copy() == first and marker.stat().st_mtime_ns == mtime
    target = tmp_path / "work"
    assert ds.get_mutable_local_copy(target) == str(target)
    (target / "a.txt").write_text("edited")  # writable
    with pytest.raises(ValueError, match=r"not empty.*overwrite=True"):
        ds.get_mutable_local_copy(target)
    ds.get_mutable_local_copy(target, overwrite=True)
    assert content(target) == content(first)


def test_finalized_refuses_changes_and_pending_files_block_finalize(tmp_path: Path) -> None:
    ds = make_base(tmp_path)
    with pytest.raises(ConflictError, match=r"finalized.*parent_datasets"):
        ds.add_files(tmp_path / "src")
    with pytest.raises(ConflictError, match="finalized"):
        ds.remove_files("a.txt")
    draft = Dataset.create(dataset_name="d", dataset_project="proj")
    draft.add_files(tmp_path / "src" / "a.txt")
    with pytest.raises(ConflictError, match=r"not uploaded.*upload\(\)"):
        draft.finalize()
    assert not draft.finalize(raise_on_error=False)
    with pytest.raises(ConflictError, match="not finalized"):
        draft.get_local_copy()
    assert draft.finalize(auto_upload=True)
    assert content(draft.get_local_copy()) == {"a.txt": "A"}
    with pytest.raises(ValueError, match="not finalized"):
        Dataset.create(
            dataset_name="e",
            dataset_project="proj",
            parent_datasets=[Dataset.create(dataset_name="f", dataset_project="proj")],
        )


def test_get_unknown_raises_and_auto_create(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match=r"no dataset named 'nope' in project 'proj'.*auto_create"):
        Dataset.get(dataset_project="proj", dataset_name="nope")
    made = Dataset.get(dataset_project="proj", dataset_name="nope", auto_create=True)
    assert made.name == "nope" and not made.is_final()
    assert Dataset.get(dataset_project="proj", dataset_name="nope").id == made.id


def test_list_datasets_filters(tmp_path: Path) -> None:
    a = make_base(tmp_path, "alpha")
    b = make_base(tmp_path, "beta")
    Dataset.create(dataset_name="gamma", dataset_project="proj/sub", dataset_tags=["t"]).finalize()
    Dataset.create(dataset_name="draft", dataset_project="proj")
    Task.create(project_name="proj", task_name="not-a-dataset")
    rows = Dataset.list_datasets(dataset_project="proj")
    assert {r["name"] for r in rows} == {"alpha", "beta", "gamma"}
    assert set(rows[0]) == {"id", "name", "project", "tags", "version", "created"}
    flat = Dataset.list_datasets(dataset_project="proj", recursive_project_search=False)
    assert {r["name"] for r in flat} == {"alpha", "beta"}
    assert [r["id"] for r in Dataset.list_datasets(partial_name="ALP")] == [a.id]
    assert [r["project"] for r in Dataset.list_datasets(tags=["t"])] == ["proj/sub"]
    assert [r["id"] for r in Dataset.list_datasets(ids=[b.id])] == [b.id]
    assert len(Dataset.list_datasets(only_completed=False)) == 4


def test_delete_refuses_a_parent_unless_forced(tmp_path: Path, tm_home: Path) -> None:
    base = make_base(tmp_path)
    local = base.get_local_copy()
    child = Dataset.create(dataset_name="images", dataset_project="proj", parent_datasets=[base])
    with pytest.raises(ConflictError, match=r"parent of dataset 'images'.*force=True"):
        Dataset.delete(dataset_id=base.id)
    Dataset.delete(dataset_id=base.id, force=True)
    assert not Path(local).exists()
    with pytest.raises(NotFoundError):
        Dataset.get(base.id)
    Dataset.delete(dataset_project="proj", dataset_name="images")
    with pytest.raises(NotFoundError):
        Dataset.get(child.id)


def test_upload_to_s3(tmp_path: Path, s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in s3_server.env.items():
        monkeypatch.setenv(key, value)
    src = write(tmp_path / "src", {"a.txt": "A", "sub/b.bin": "B"})
    ds = Dataset.create(dataset_name="remote", dataset_project="proj")
    ds.add_files(src)
    ds.upload(output_url=s3_server.url("datasets"))
    ds.finalize()
    url = Task.get_task(task_id=ds.id).artifacts["data"].url
    assert url.startswith(f"s3://{s3_server.bucket}/datasets/")
    assert content(Dataset.get(dataset_project="proj", dataset_name="remote").get_local_copy()) == {
        "a.txt": "A",
        "sub/b.bin": "B",
    }


def test_clearml_style_scripts(run_script: RunScript, tmp_path: Path) -> None:
    data = write(tmp_path / "raw", {"train/1.txt": "one", "train/2.txt": "two"})
    make = run_script(
        f"""
        from taskmill import Dataset

        ds = Dataset.create(dataset_name="digits", dataset_project="examples")
        ds.add_files(path={str(data)!r})
        ds.upload()
        ds.finalize()
        print("ID", ds.id)
        """,
        name="make.py",
    )
    assert make.returncode == 0, make.stderr
    read = run_script(
        """
        from pathlib import Path
        from taskmill import Dataset

        folder = Dataset.get(dataset_project="examples", dataset_name="digits").get_local_copy()
        print("GOT", (Path(folder) / "train" / "2.txt").read_text())
        """,
        name="read.py",
    )
    assert read.returncode == 0, read.stderr
    assert "GOT two" in read.stdout
