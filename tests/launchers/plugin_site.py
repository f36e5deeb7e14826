"""A launcher plugin installed the way packages install it: a module and a ``.dist-info`` folder
with ``entry_points.txt``, in a folder put on ``sys.path`` (and on the step processes' path)."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from taskmill.engine.launcher_plugins import ENTRY_POINT_GROUP

#: A complete third-party launcher: each step as a fresh ``python -m`` process on a thread,
#: built on TrackedLauncher (so it has the process launcher's semantics). It appends
#: "<task id>" to the file named by TM_LAUNCH_LOG for every step it launches.
PLUGIN = """
import os
import subprocess
import threading

from taskmill.engine.launcher_api import LauncherContext, LaunchRequest, TrackedLauncher, exit_reason


class ThreadLauncher(TrackedLauncher):
    def __init__(self, ctx: LauncherContext) -> None:
        super().__init__(ctx.store)
        self._ctx = ctx
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self.address = ctx.address

    def submit(self, request: LaunchRequest) -> None:
        with open(os.environ["TM_LAUNCH_LOG"], "a") as log:
            log.write(f"{request.task_id} {self.address}\\n")
        proc = subprocess.Popen(self._ctx.step_argv(request), env=self._ctx.step_env(), cwd=self._ctx.cwd)
        self._procs[request.task_id] = proc

        def wait() -> None:
            self.ended(request.task_id, exit_reason(proc.wait()))

        threading.Thread(target=wait, daemon=True).start()

    def cancel(self, task_id: str) -> None:
        proc = self._procs.get(task_id)
        if proc is not None and proc.poll() is None:
            proc.kill()


not_a_factory = 42
"""


def install_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """(A fixture body.) ``tm-launcher-plugin`` installed in a folder on ``sys.path``, with a
    ``thread`` launcher, one that cannot be imported and one that is no factory. Yields the
    launch log (one line per launched step: task id and address)."""
    site = tmp_path / "site"
    info = site / "tm_launcher_plugin-1.0.dist-info"
    info.mkdir(parents=True)
    (site / "tm_launcher_plugin.py").write_text(PLUGIN)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: tm-launcher-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        textwrap.dedent(
            f"""\
            [{ENTRY_POINT_GROUP}]
            thread = tm_launcher_plugin:ThreadLauncher
            missing = tm_launcher_plugin_gone:Nothing
            wrong = tm_launcher_plugin:not_a_factory
            """
        )
    )
    log = tmp_path / "launched.txt"
    log.write_text("")
    monkeypatch.setenv("TM_LAUNCH_LOG", str(log))
    monkeypatch.syspath_prepend(str(site))
    yield log
    sys.modules.pop("tm_launcher_plugin", None)


@pytest.fixture
def plugin_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The plugin installed for one test (see :func:`install_plugin`); yields the launch log."""
    yield from install_plugin(tmp_path, monkeypatch)


def launched(log: Path) -> list[tuple[str, str]]:
    """(task id, address) of every step the plugin launched, in order."""
    return [tuple(line.split(" ", 1)) for line in log.read_text().splitlines()]  # type: ignore[misc]
