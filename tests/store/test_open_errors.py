"""Opening a store at a bad location: one clear line naming the path and the fix, never a traceback
or a silently created empty store (``create=False`` never creates one)."""

from __future__ import annotations

from pathlib import Path

import pytest

from taskmill.errors import NotFoundError, StoreConnectionError
from taskmill.store.factory import open_store
from tests.store.procs import run_cli


@pytest.mark.parametrize(
    ("path", "why"),
    [("/proc/taskmill-nope/store.db", "cannot create the folder"), ("/etc/passwd/store.db", "not a folder")],
)
def test_an_unusable_sqlite_location_is_one_clear_error(path: str, why: str) -> None:
    with pytest.raises(StoreConnectionError) as info:
        open_store(f"sqlite:///{path}")
    text = str(info.value)
    assert why in text and path.rsplit("/", 1)[0] in text and "TASKMILL_STORE" in text
    assert "\n" not in text


def test_create_false_refuses_a_missing_sqlite_store_and_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "typo" / "stroe.db"
    with pytest.raises(NotFoundError, match=f"no taskmill store at {path}"):
        open_store(f"sqlite:///{path}", create=False)
    assert not path.parent.exists()
    open_store(f"sqlite:///{path}").close()  # the default creates it ...
    open_store(f"sqlite:///{path}", create=False).close()  # ... and then it opens read-only callers too


def test_create_false_refuses_an_empty_postgres_database(pg_url: str) -> None:
    with pytest.raises(NotFoundError, match="no taskmill store"):
        open_store(pg_url, create=False)
    open_store(pg_url).close()
    open_store(pg_url, create=False).close()


def test_a_write_command_with_an_unusable_home_prints_one_line(tmp_path: Path) -> None:
    """From outside: `taskmill queues create` with TASKMILL_HOME under /proc."""
    done = run_cli("queues", "create", "gpu", home=Path("/proc/taskmill-nope"))
    assert done.returncode != 0
    assert "Traceback" not in done.stderr and "│" not in done.stderr, done.stderr
    assert "/proc/taskmill-nope" in done.stderr
