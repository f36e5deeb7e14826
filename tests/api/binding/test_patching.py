"""Patch sets: options, replacing and undoing, safe calls, the model table (in this process)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from taskmill.api.binding.patching import WRAPPED, Options, Patcher
from taskmill.api.session import PROCESS
from taskmill.api.task import Task


class Saver:
    """A framework class with a save method, as the bindings find them."""

    def save(self, path: str) -> str:
        Path(path).write_text("weights")
        return "saved"


@pytest.fixture
def step_task(tm_home: Path) -> Iterator[Task]:
    """A task current in this thread, as an in-process pipeline step is."""
    task = Task.create(project_name="p", task_name="step")
    token = PROCESS.step_task.set(task)
    yield task
    PROCESS.step_task.reset(token)


def test_options_switch_all_or_each_key() -> None:
    assert Options(True).enabled("pytorch") and not Options(False).enabled("pytorch")
    each = Options({"pytorch": False, "matplotlib": True})
    assert not each.enabled("pytorch") and each.enabled("matplotlib") and each.enabled("xgboost")
    assert not Options({"scikit": False}).enabled("joblib")  # either name switches joblib off


def test_options_patterns_keep_matching_files() -> None:
    options = Options({"pytorch": ["*.pt", "best*"], "joblib": "*.pkl"})
    assert options.accepts("pytorch", "/x/model.pt") and options.accepts("pytorch", "best.bin")
    assert not options.accepts("pytorch", "/x/model.bin")
    assert options.accepts("joblib", "m.pkl") and not options.accepts("joblib", "m.joblib")
    assert options.accepts("lightgbm", "anything.txt")


def make_saver_wrapper(patcher: Patcher, reports: list[str]):  # type: ignore[no-untyped-def]
    def make(original):  # type: ignore[no-untyped-def]
        def save(*args, **kwargs):  # type: ignore[no-untyped-def]
            return patcher.call(original, args, kwargs, after=lambda task, result: reports.append(result))

        return save

    return make


def test_replace_once_and_undo() -> None:
    original = Saver.__dict__["save"]
    patcher = Patcher(Options(True))
    reports: list[str] = []
    patcher.replace(Saver, "save", make_saver_wrapper(patcher, reports))
    wrapper = Saver.__dict__["save"]
    assert getattr(wrapper, WRAPPED) is original and wrapper.__name__ == "save"
    patcher.replace(Saver, "save", make_saver_wrapper(patcher, reports))  # already patched
    assert Saver.__dict__["save"] is wrapper
    Patcher(Options(True)).replace(Saver, "save", make_saver_wrapper(patcher, reports))  # another set
    assert Saver.__dict__["save"] is wrapper and patcher.patched == [(Saver, "save")]
    patcher.undo()
    patcher.undo()  # idempotent
    assert Saver.__dict__["save"] is original and patcher.patched == []


def test_reports_only_inside_an_open_task(step_task: Task, tmp_path: Path) -> None:
    patcher = Patcher(Options(True))
    reports: list[str] = []
    patcher.replace(Saver, "save", make_saver_wrapper(patcher, reports))
    try:
        assert Saver().save(str(tmp_path / "a")) == "saved"
        assert reports == ["saved"]
        token = PROCESS.step_task.set(None)
        try:
            assert Saver().save(str(tmp_path / "b")) == "saved"  # no task: passed through
        finally:
            PROCESS.step_task.reset(token)
        step_task._closed = True
        assert Saver().save(str(tmp_path / "c")) == "saved"  # closed task: passed through
        assert reports == ["saved"]
    finally:
        patcher.undo()


def test_failing_report_is_a_warning_and_the_result_stands(
    step_task: Task, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    patcher = Patcher(Options(True))

    def broken(task: Task, result: str) -> None:
        raise RuntimeError("store is down")

    def make(original):  # type: ignore[no-untyped-def]
        return lambda *a, **k: patcher.call(original, a, k, after=broken)

    patcher.replace(Saver, "save", make)
    try:
        with caplog.at_level(logging.WARNING, logger="taskmill.binding"):
            assert Saver().save(str(tmp_path / "a")) == "saved"
        assert "store is down" in caplog.text and step_task.id in caplog.text
        with pytest.raises(FileNotFoundError):  # the user's own error is the user's
            Saver().save(str(tmp_path / "missing" / "a"))
    finally:
        patcher.undo()


def test_nested_wrapped_calls_report_once(step_task: Task, tmp_path: Path) -> None:
    patcher = Patcher(Options(True))
    seen: list[str] = []

    class Outer(Saver):
        def save(self, path: str) -> str:
            return Saver.save(self, path)  # the framework saving through another patched method

    def make(name: str):  # type: ignore[no-untyped-def]
        def wrap(original):  # type: ignore[no-untyped-def]
            return lambda *a, **k: patcher.call(original, a, k, after=lambda t, r: seen.append(name))

        return wrap

    patcher.replace(Saver, "save", make("inner"))
    patcher.replace(Outer, "save", make("outer"))
    try:
        Outer().save(str(tmp_path / "a"))
    finally:
        patcher.undo()
    assert seen == ["outer"]


def test_report_model_uploads_and_updates_the_same_model(step_task: Task, tmp_path: Path) -> None:
    patcher = Patcher(Options({"pytorch": "*.pt"}))
    weights = tmp_path / "w.pt"
    weights.write_bytes(b"one")
    patcher.report_model(step_task, "pytorch", str(weights), "PyTorch")
    weights.write_bytes(b"two")
    with weights.open("rb") as handle:  # an open file counts by its name
        patcher.report_model(step_task, "pytorch", handle, "PyTorch")
    other = tmp_path / "w.bin"
    other.write_bytes(b"x")
    patcher.report_model(step_task, "pytorch", str(other), "PyTorch")  # filtered out
    patcher.report_model(step_task, "pytorch", object(), "PyTorch")  # not a file
    models = step_task.models["output"]
    assert [(m.name, m.framework) for m in models] == [("step - w.pt", "PyTorch")]
    from taskmill.api.model import Model

    assert Path(Model(models[-1].id).get_local_copy()).read_bytes() == b"two"
