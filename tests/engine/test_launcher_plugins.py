"""Launchers by name: built-ins, the taskmill.launchers entry points, and per-step routing."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from taskmill.core.pipeline import StepSpec
from taskmill.engine.launcher_api import Launcher, LauncherContext, LaunchRequest
from taskmill.engine.launcher_plugins import (
    RoutingLauncher,
    build_launcher,
    find_launcher,
    parse_spec,
    step_launcher,
    with_launcher,
)
from taskmill.engine.launchers import ProcessLauncher
from taskmill.engine.nodes import Node, StepHooks
from taskmill.errors import ExecutionError
from taskmill.store.base import TaskStore
from tests.launchers.plugin_site import plugin_site  # noqa: F401 - the fixture

pytestmark = pytest.mark.usefixtures("plugin_site")


def context(store: TaskStore) -> LauncherContext:
    return LauncherContext(store=store, store_url="sqlite:///x.db", targets={"function": "m:f"})


def test_specs() -> None:
    assert parse_spec("dask") == ("dask", None)
    assert parse_spec(" dask@tcp://10.0.0.1:8786") == ("dask", "tcp://10.0.0.1:8786")
    with pytest.raises(ExecutionError, match="NAME@ADDRESS"):
        parse_spec("@tcp://x")


def test_entry_point_launchers_are_loaded_lazily_by_name(engine_store: TaskStore) -> None:
    assert "tm_launcher_plugin" not in sys.modules
    assert isinstance(build_launcher("process", context(engine_store)), ProcessLauncher)
    assert "tm_launcher_plugin" not in sys.modules  # a built-in name reads no entry point

    launcher = build_launcher("thread@tcp://10.9.9.9:1", context(engine_store))
    plugin = sys.modules["tm_launcher_plugin"]
    assert isinstance(launcher, plugin.ThreadLauncher) and launcher.address == "tcp://10.9.9.9:1"

    with pytest.raises(ExecutionError, match=r"unknown launcher 'nope'; known launchers: .*process.*thread"):
        find_launcher("nope")
    with pytest.raises(ExecutionError, match=r"'missing' .* cannot be loaded"):
        find_launcher("missing")
    with pytest.raises(ExecutionError, match="'wrong' is a int, not a launcher factory"):
        find_launcher("wrong")


def test_hooks_carry_a_step_launcher() -> None:
    plain = StepHooks()
    assert with_launcher(plain, None) is plain
    routed = with_launcher(StepHooks(object_kwargs={"a": 1}), "thread")
    node = Node(spec=StepSpec(name="s", kind="function"), hooks=routed)
    assert step_launcher(node) == "thread" and routed.object_kwargs == {"a": 1}
    assert step_launcher(Node(spec=StepSpec(name="s", kind="function"))) is None


class _Recorder(Launcher):
    reports_start = True

    def __init__(self, name: str, log: list[str]) -> None:
        self.name, self.log = name, log

    def start(self) -> None:
        self.log.append(f"{self.name} start")

    def launch(self, request: LaunchRequest) -> None:
        self.log.append(f"{self.name} launch {request.task_id}")

    def abort(self, task_id: str) -> None:
        self.log.append(f"{self.name} abort {task_id}")

    def close(self) -> None:
        self.log.append(f"{self.name} close")


def test_routing_sends_each_step_to_its_launcher(tmp_path: Path) -> None:
    log: list[str] = []
    started: list[str] = []

    class Plain(_Recorder):
        reports_start = False

    router = RoutingLauncher(_Recorder("default", log), lambda spec: Plain(spec, log))
    assert router.reports_start and not router.starts_immediately
    router.start()

    def req(task_id: str, launcher: str | None) -> LaunchRequest:
        hooks = with_launcher(StepHooks(), launcher)
        return LaunchRequest(
            Node(spec=StepSpec(name=task_id, kind="function"), hooks=hooks),
            task_id,
            "q",
            log.append,
            started.append,
        )

    router.launch(req("t1", None))
    router.launch(req("t2", "dask"))
    router.launch(req("t3", "dask"))
    router.abort("t2")
    router.abort("t1")
    router.close()
    assert log == [
        "default start",
        "default launch t1",
        "dask start",  # built and started on first use, once
        "dask launch t2",
        "dask launch t3",
        "dask abort t2",
        "default abort t1",
        "dask close",
        "default close",
    ]
    assert started == ["t2", "t3"]  # the queue-style run hears that a routed step started
