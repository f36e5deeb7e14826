"""The import hook: lazy, patches on the user's import, switchable, reversible (real interpreters)."""

from __future__ import annotations

import logging
import types

import pytest

from tests.api.conftest import RunScript

FRAMEWORKS = (
    "joblib",
    "sklearn",
    "matplotlib",
    "torch",
    "tensorboard",
    "tensorboardX",
    "lightgbm",
    "xgboost",
    "catboost",
    "keras",
    "tensorflow",
    "numpy",
)


def test_task_init_imports_no_framework(run_script: RunScript) -> None:
    proc = run_script(
        f"""
        import sys
        from taskmill import Task
        task = Task.init(project_name="p", task_name="lazy")
        print("IMPORTED", sorted(m for m in {FRAMEWORKS!r} if m in sys.modules))
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert "IMPORTED []" in proc.stdout


def test_module_is_patched_after_the_users_import_and_before_init(run_script: RunScript) -> None:
    proc = run_script(
        """
        import sys
        import pickle
        from taskmill import Task
        from taskmill.api.binding.hook import FrameworkFinder
        assert not hasattr(pickle.dump, "__taskmill_wrapped__")
        task = Task.init(project_name="p", task_name="hook")
        assert hasattr(pickle.dump, "__taskmill_wrapped__")  # imported before Task.init
        assert isinstance(sys.meta_path[0], FrameworkFinder)
        from joblib import dump  # imported after: patched before the import returns
        import joblib
        assert dump is joblib.dump and dump.__taskmill_wrapped__.__module__ == "joblib.numpy_pickle"
        assert type(joblib.__loader__).__name__ == "SourceFileLoader"
        assert joblib.__spec__.loader is joblib.__loader__
        import importlib.resources  # the module still reads its own files
        assert importlib.resources.files("joblib").joinpath("__init__.py").is_file()
        print("OK")
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert "OK" in proc.stdout


def test_switched_off_all_or_per_framework(run_script: RunScript) -> None:
    proc = run_script(
        """
        import sys, pickle
        from taskmill import Task
        from taskmill.api.binding import current_finder
        task = Task.init(project_name="p", task_name="off", auto_connect_frameworks=False)
        import joblib
        assert current_finder() is None
        assert not hasattr(joblib.dump, "__taskmill_wrapped__")
        assert not hasattr(pickle.dump, "__taskmill_wrapped__")
        print("OK")
        """
    )
    assert proc.returncode == 0, proc.stderr
    proc = run_script(
        """
        import pickle
        from taskmill import Task
        task = Task.init(project_name="p", task_name="off", auto_connect_frameworks={"joblib": False})
        import joblib
        assert not hasattr(joblib.dump, "__taskmill_wrapped__")
        assert not hasattr(pickle.dump, "__taskmill_wrapped__")
        print("OK")
        """
    )
    assert proc.returncode == 0, proc.stderr


def test_release_undoes_every_patch_and_rebinding_never_doubles(run_script: RunScript) -> None:
    proc = run_script(
        """
        import sys, pickle
        original = pickle.dump
        from taskmill import Task
        from taskmill.api.binding import bind_frameworks, current_finder, release_frameworks
        from taskmill.api.binding.hook import FrameworkFinder
        task = Task.init(project_name="p", task_name="release")
        import joblib
        first = joblib.dump
        bind_frameworks(True)  # again: the old patches are undone first
        assert joblib.dump is not first and joblib.dump.__taskmill_wrapped__ is first.__taskmill_wrapped__
        assert pickle.dump.__taskmill_wrapped__ is original
        assert sum(isinstance(f, FrameworkFinder) for f in sys.meta_path) == 1
        release_frameworks()
        release_frameworks()
        assert pickle.dump is original and not hasattr(joblib.dump, "__taskmill_wrapped__")
        assert current_finder() is None
        print("OK")
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert "OK" in proc.stdout


def test_after_close_calls_pass_through(run_script: RunScript) -> None:
    proc = run_script(
        """
        import joblib
        from taskmill import Task
        task = Task.init(project_name="p", task_name="closed")
        task.close()
        joblib.dump({"a": 1}, "after.joblib")
        assert joblib.load("after.joblib") == {"a": 1}
        assert task.models["output"] == []
        print("OK")
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert "OK" in proc.stdout


def test_framework_keys_are_clearmls() -> None:
    from taskmill.api.binding import FRAMEWORK_KEYS

    assert set(FRAMEWORK_KEYS) == {
        "joblib",
        "scikit",
        "pytorch",
        "xgboost",
        "lightgbm",
        "catboost",
        "tensorflow",
        "tensorboard",
        "matplotlib",
    }


def test_an_unknown_framework_version_is_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    from taskmill.api.binding.hook import FrameworkFinder
    from taskmill.api.binding.patching import Options

    finder = FrameworkFinder(Options(True))
    with caplog.at_level(logging.WARNING, logger="taskmill.binding"):
        finder.apply("lightgbm", types.ModuleType("lightgbm"))  # no Booster class in it
    assert "could not bind lightgbm" in caplog.text
    assert finder.patcher.patched == []
    assert finder.find_spec("lightgbm", None) is None  # applied once: not watched any more
