"""A warm ForkServer on real processes: learning what steps import, ``warm()``, the probe that keeps
failing or thread-starting modules out, background start, and the helpers that name modules."""

from __future__ import annotations

import importlib
import os
import sys
import sysconfig
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from taskmill.engine.forkserver import ForkServer, imported_modules, imports_of
from taskmill.errors import ExecutionError

ROOT = str(Path(__file__).resolve().parents[2])
HERE = "tests.engine.test_forkserver_warm"

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="fork server is POSIX only")

# --- step targets (run in the fork server's children) -------------------------------------------


def has_module(name: str) -> int:
    """Exit 0 when ``name`` was already imported when the step started, 3 when not."""
    return 0 if name in sys.modules else 3


def import_module(name: str) -> None:
    """Import ``name`` (a step whose function imports a library)."""
    importlib.import_module(name)


def thread_count() -> int:
    """Exit with the number of threads the child started with (1 when the server had none)."""
    return threading.active_count()


# --- helpers --------------------------------------------------------------------------------------


class Exits:
    """``on_exit`` callback that keeps the last exit code per key."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.codes: dict[str, int] = {}

    def __call__(self, key: str, returncode: int) -> None:
        with self._cond:
            self.codes[key] = returncode
            self._cond.notify_all()

    def run(self, server: ForkServer, key: str, target: str, *args: str) -> int:
        server.submit(key, target, args=list(args))
        with self._cond:
            assert self._cond.wait_for(lambda: key in self.codes, 30), f"no exit reported for {key}"
            return self.codes.pop(key)


def eventually_loaded(exits: Exits, server: ForkServer, module: str, timeout: float = 20.0) -> bool:
    """Poll (test code only) until a fresh child starts with ``module`` imported."""
    deadline = time.monotonic() + timeout
    attempt = 0
    while time.monotonic() < deadline:
        attempt += 1
        if exits.run(server, f"probe-{module}-{attempt}", f"{HERE}:has_module", module) == 0:
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def exits() -> Exits:
    return Exits()


def _server(exits: Exits, extra_path: str = "", **kwargs: object) -> ForkServer:
    sys_path = [ROOT, extra_path] if extra_path else [ROOT]
    return ForkServer(preload=("taskmill",), sys_path=sys_path, on_exit=exits, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def learning(exits: Exits) -> Iterator[ForkServer]:
    with _server(exits, warm=()) as fs:
        yield fs


# --- tests ----------------------------------------------------------------------------------------


def test_the_first_step_teaches_the_server_what_it_imports(learning: ForkServer, exits: Exits) -> None:
    assert exits.run(learning, "before", f"{HERE}:has_module", "colorsys") == 3
    assert exits.run(learning, "teach", f"{HERE}:import_module", "colorsys") == 0
    assert eventually_loaded(exits, learning, "colorsys"), "a later step should start with colorsys imported"


def test_learning_off_leaves_the_server_as_preloaded(exits: Exits) -> None:
    with _server(exits, warm=(), learn=False) as fs:
        assert exits.run(fs, "teach", f"{HERE}:import_module", "netrc") == 0
        time.sleep(0.5)  # long enough for a learning server to have imported it
        assert exits.run(fs, "after", f"{HERE}:has_module", "netrc") == 3


def test_the_users_own_modules_are_not_learned(exits: Exits, tmp_path: Path) -> None:
    # a module outside the standard library and site-packages: importing it in the server could
    # run a user's script, so it is never learned
    (tmp_path / "tm_user_mod.py").write_text("VALUE = 1\n")
    with _server(exits, warm=(), extra_path=str(tmp_path)) as fs:
        assert exits.run(fs, "teach", f"{HERE}:import_module", "tm_user_mod") == 0
        assert exits.run(fs, "teach2", f"{HERE}:import_module", "colorsys") == 0
        assert eventually_loaded(exits, fs, "colorsys")  # what it learned from the same steps
        assert exits.run(fs, "after", f"{HERE}:has_module", "tm_user_mod") == 3


def test_warm_skips_modules_that_fail_or_start_threads(exits: Exits, tmp_path: Path) -> None:
    (tmp_path / "tm_broken_mod.py").write_text("raise RuntimeError('broken at import')\n")
    (tmp_path / "tm_thread_mod.py").write_text(
        "import threading, time\nthreading.Thread(target=time.sleep, args=(60,), daemon=True).start()\n"
    )
    (tmp_path / "tm_fine_mod.py").write_text("VALUE = 2\n")
    with _server(exits, warm=("tm_broken_mod", "no_such_module_tm"), extra_path=str(tmp_path)) as fs:
        fs.warm(["tm_thread_mod", "tm_fine_mod"])
        assert eventually_loaded(exits, fs, "tm_fine_mod")
        assert exits.run(fs, "broken", f"{HERE}:has_module", "tm_broken_mod") == 3
        assert exits.run(fs, "thread", f"{HERE}:has_module", "tm_thread_mod") == 3
        assert exits.run(fs, "threads", f"{HERE}:thread_count") == 1  # the server still has no thread


def test_warm_defaults_to_the_library_modules_this_process_imported(exits: Exits) -> None:
    import colorsys  # noqa: F401  (imported here so that the default warm list names it)

    with _server(exits) as fs:
        assert eventually_loaded(exits, fs, "colorsys")


def test_background_start_then_submit(exits: Exits) -> None:
    fs = _server(exits, warm=())
    fs.start(wait=False)
    try:
        assert exits.run(fs, "first", f"{HERE}:has_module", "taskmill") == 0
    finally:
        fs.close()


def test_background_start_reports_a_failed_preload_on_first_use(exits: Exits) -> None:
    fs = ForkServer(preload=("no_such_module_tm",), warm=(), on_exit=exits)
    fs.start(wait=False)
    with pytest.raises(ExecutionError, match="no_such_module_tm"):
        fs.submit("x", f"{HERE}:has_module", args=["taskmill"])
    fs.close()  # idempotent after a failed start


def test_close_right_after_a_background_start(exits: Exits) -> None:
    fs = _server(exits, warm=())
    fs.start(wait=False)
    fs.close()
    assert fs.running() == set()


def step_with_imports() -> None:
    """A step function whose imports :func:`imports_of` reads."""
    import json.decoder  # noqa: F401
    from email.mime import text  # noqa: F401

    from .resources import targets  # noqa: F401  (relative: not a name the server could import)


def test_imports_of_reads_the_functions_source() -> None:
    names = imports_of(step_with_imports)
    assert names == ["json.decoder", "email.mime", "email.mime.text"]
    assert imports_of(len) == []  # no source to read


def test_imported_modules_names_library_leaves_only() -> None:
    names = imported_modules()
    folders = [
        p for k, p in sysconfig.get_paths().items() if k in ("stdlib", "platstdlib", "purelib", "platlib")
    ]
    roots = tuple(os.path.join(p, "") for f in folders for p in (f, os.path.realpath(f)))
    assert "json.decoder" in names and "json" not in names  # the deepest of a package chain
    for name in names:
        assert not any(part.startswith("_") for part in name.split("."))
        assert (sys.modules[name].__file__ or "").startswith(roots)
    assert not [n for n in names if n.startswith("tests.")]
