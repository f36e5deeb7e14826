"""API key authentication: every endpoint except the health check requires a valid key.

A key is sent as ``Authorization: Bearer <secret>`` or ``X-Taskmill-Key: <secret>``. No key or an
unknown one gets 401; a revoked key gets 403. Keys are checked against the store on every request
(one indexed read and a SHA-256), so a revocation takes effect at once.

The admitted key becomes the store's caller for the request (:meth:`TaskStore.set_caller`):
admin-only routes check its role, and status changes record its name. The check is an async
dependency so that the caller it sets is seen by the (threaded) endpoint; the store read itself
runs in a worker thread.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from taskmill.store.base import TaskStore

#: The two ways to send a key; stateless scheme descriptions (they also document /openapi.json).
BEARER = HTTPBearer(auto_error=False, description="An API key: `taskmill server create-key`.")
KEY_HEADER = APIKeyHeader(name="X-Taskmill-Key", auto_error=False, description="An API key, as a header.")

_CHALLENGE = {"WWW-Authenticate": "Bearer"}


class KeyCheck:
    """FastAPI dependency that admits requests carrying a valid key (all of them if disabled)."""

    def __init__(self, store: TaskStore, *, enabled: bool) -> None:
        self._store = store
        self._enabled = enabled

    async def __call__(
        self,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
        header: Annotated[str | None, Depends(KEY_HEADER)],
    ) -> None:
        """Admit the request (401/403 otherwise) and make its key the store's caller."""
        self._store.set_caller(None)  # each request runs in its own context; be explicit anyway
        if not self._enabled:
            return
        secret = bearer.credentials if bearer is not None else header
        if not secret:
            raise HTTPException(
                401,
                "this server requires an API key: send 'Authorization: Bearer <key>' (create one with "
                "`taskmill server create-key`; clients read it from TASKMILL_API_KEY)",
                headers=_CHALLENGE,
            )
        found = await run_in_threadpool(self._store.find_api_key, secret)
        if found is None:
            raise HTTPException(401, "unknown API key; check TASKMILL_API_KEY", headers=_CHALLENGE)
        if found.is_revoked:
            raise HTTPException(403, f"API key {found.id} ({found.name or 'unnamed'}) was revoked")
        self._store.set_caller(found)
