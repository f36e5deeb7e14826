"""The SDK (``taskmill.api``) bound to this CLI invocation's settings, for commands built on it.

Commands such as ``tasks clone`` or ``datasets create`` reuse the SDK's behaviour instead of
re-implementing it; the SDK reads its store from the process-wide session, so this points that
session at the invocation's settings (``--store`` included) for the length of one command, and
closes it afterwards. Not re-entrant: one command at a time per process.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer

from taskmill.api.session import PROCESS, Session
from taskmill.cli._common import cli_settings, require_store


@contextmanager
def sdk_session(ctx: typer.Context, *, create: bool = True) -> Iterator[Session]:
    """Make the SDK use this invocation's settings until the block ends (then reset it).

    ``create=False`` (read-only commands): refuse, in one line, to create a missing SQLite store.
    """
    settings = cli_settings(ctx)
    if not create:
        require_store(settings)
    session = Session(settings)
    PROCESS.use(session)
    try:
        yield session
    finally:
        PROCESS.reset()  # closes the session's store
