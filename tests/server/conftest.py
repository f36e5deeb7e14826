"""Fixtures: a real server (uvicorn thread, auth on) over a fresh SQLite store, a key, HTTP clients."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from taskmill.store.http import HttpTaskStore
from tests.server.harness import Served, served


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Served]:
    """A server with authentication on, over ``tmp_path/store.db``."""
    with served(f"sqlite:///{tmp_path}/store.db", tmp_path, auth=True) as s:
        yield s


@pytest.fixture
def key(server: Served) -> str:
    """The secret of a valid API key of ``server``."""
    return server.store.create_api_key("tests")[1]


@pytest.fixture
def api(server: Served, key: str) -> Iterator[httpx.Client]:
    """A raw HTTP client for ``server``'s API, sending ``key``."""
    with httpx.Client(base_url=server.url + "/api/v1", headers={"Authorization": f"Bearer {key}"}) as c:
        yield c


@pytest.fixture
def remote(server: Served, key: str) -> Iterator[HttpTaskStore]:
    """The HTTP store of ``server``."""
    s = HttpTaskStore(server.url, key)
    yield s
    s.close()
