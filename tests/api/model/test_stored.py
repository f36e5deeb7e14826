"""Reading stored models: weights back as files or folders, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from taskmill import InputModel, Model, OutputModel, Task
from taskmill.api.model import ModelNotFoundError
from taskmill.errors import NotFoundError

from .conftest import trained, weight_file


def test_package_comes_back_as_a_folder(tmp_path: Path) -> None:
    src = tmp_path / "ckpt"
    weight_file(src, "model.bin", b"m")
    weight_file(src, "sub/vocab.txt", b"v")
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
        trained("p", "single", tmp_path).get_weights_package()


def test_unknown_id_and_missing_weights_are_clear_errors() -> None:
    missing = "0" * 32
    with pytest.raises(ModelNotFoundError, match=f"no model with id '{missing}'") as info:
        InputModel(model_id=missing)
    assert isinstance(info.value, NotFoundError) and isinstance(info.value, ValueError)
    model = OutputModel(task=Task.create(project_name="p", task_name="t"))
    assert model.get_local_copy() is None  # no weights yet: None, as ClearML
    with pytest.raises(ValueError, match="has no weights yet"):
        model.get_local_copy(raise_on_error=True)
