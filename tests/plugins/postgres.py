"""A real, throwaway PostgreSQL server for the test session (initdb + pg_ctl on a free port).

Tests ask for ``pg_url`` to get a fresh, empty database on it. When no PostgreSQL binaries are
installed the tests are skipped locally; under ``CI=true`` the top conftest turns that skip into
a failure (``scripts/test`` installs PostgreSQL, so CI always has it).
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(cmd: list[str]) -> list[str]:
    # initdb refuses to run as root; the server runs as the postgres user then.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


class PgServer:
    """A running server; :meth:`new_database` hands out empty databases."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._counter = itertools.count(1)

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def new_database(self) -> str:
        import psycopg

        name = f"tm_{os.getpid()}_{next(self._counter)}"
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True) as c:
            c.execute(f"CREATE DATABASE {name}")
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"


@contextlib.contextmanager
def running_postgres() -> Iterator[PgServer | None]:
    """Start a throwaway PostgreSQL server (None when no binaries are installed); stop and
    delete it on exit. Blocking: returns once the server accepts connections. Benches use it
    too (``bench/bench_chaos.py --store postgres``)."""
    bindir = _pg_bin()
    if bindir is None:
        yield None
        return
    base = Path(tempfile.mkdtemp(prefix="tm-pg-"))
    data = base / "data"
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
    port = _free_port()
    subprocess.run(
        _as_postgres([str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]),
        check=True,
        capture_output=True,
    )
    opts = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    subprocess.run(
        _as_postgres(
            [str(bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(base / "log"), "-w", "start"]
        ),
        check=True,
        capture_output=True,
    )
    try:
        yield PgServer(port)
    finally:
        subprocess.run(
            _as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """Start PostgreSQL for the session; stop and delete it afterwards."""
    with running_postgres() as server:
        if server is None:
            pytest.skip("PostgreSQL is not installed (scripts/test installs it)")
        yield server


@pytest.fixture
def pg_url(pg_server: PgServer) -> str:
    """URL of a fresh, empty PostgreSQL database."""
    return pg_server.new_database()
