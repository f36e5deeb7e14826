"""A real taskmill server for tests: uvicorn in a thread on a free loopback port, over a real store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from taskmill.artifacts.storage import ArtifactStore
from taskmill.server import ServerThread, create_app
from taskmill.store.base import TaskStore
from taskmill.store.factory import open_store


@dataclass
class Served:
    """A running server: its URL, the store it serves (server side) and its artifact storage."""

    url: str
    store: TaskStore
    artifacts: ArtifactStore
    thread: ServerThread


@contextmanager
def served(
    backing_url: str,
    workdir: Path,
    *,
    auth: bool = False,
    port: int | None = None,
    artifacts_uri: str | None = None,
    storage_options: dict[str, Any] | None = None,
    **app_options: object,
) -> Iterator[Served]:
    """Serve the store at ``backing_url`` until the block ends.

    Artifacts go to ``artifacts_uri`` (default: a folder in ``workdir``) with fsspec ``storage_options``.
    """
    store = open_store(backing_url)
    artifacts = ArtifactStore(
        artifacts_uri or str(workdir / "server-artifacts"), str(workdir / "server-cache"), storage_options
    )
    thread = ServerThread(create_app(store, artifacts, auth=auth, **app_options), port=port)  # type: ignore[arg-type]
    try:
        thread.start()
        yield Served(thread.url, store, artifacts, thread)
    finally:
        thread.stop()
        store.close()
