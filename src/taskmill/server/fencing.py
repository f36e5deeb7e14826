"""Attempt fencing over HTTP: a request's ``X-Taskmill-Attempt`` header becomes the store's fence.

A step process writes as one attempt of its task (:meth:`TaskStore.fence`); its HTTP store sends
``<task id>:<attempt>`` with every request, and this dependency makes that the fence of the
request's context, so the store refuses the request's writes (409) once the attempt is superseded.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Header, HTTPException

from taskmill.store.base import TaskStore


class AttemptFence:
    """FastAPI dependency: set (or clear) the store's fence for this request. Non-blocking."""

    def __init__(self, store: TaskStore) -> None:
        self._store = store

    async def __call__(self, x_taskmill_attempt: Annotated[str | None, Header()] = None) -> None:
        """Read the header; 422 when it is not ``<task id>:<positive integer>``."""
        if not x_taskmill_attempt:
            self._store.set_request_fence(None)
            return
        task_id, _, number = x_taskmill_attempt.rpartition(":")
        if not task_id or not number.isdigit() or int(number) < 1:
            raise HTTPException(
                422, f"X-Taskmill-Attempt must be '<task id>:<attempt number>', got {x_taskmill_attempt!r}"
            )
        self._store.set_request_fence(task_id, int(number))
