"""Artifact bytes through the server, for clients that cannot reach the artifact storage themselves.

``PUT /tasks/{id}/artifacts/{name}/content`` streams the request body, chunk by chunk, to the
server's artifact location (``<artifacts>/<task>/<name>/<filename>``, the layout of
:class:`~taskmill.artifacts.storage.ArtifactStore`), hashing it on the way; it never holds the
whole file in memory. Local destinations are written to a temporary file and renamed into place
(readers never see a partial file); remote ones (S3, any fsspec URL) are spooled to a local
temporary file first and uploaded in one PUT. The response tells where the bytes are; the client
then records the artifact with ``POST /tasks/{id}/artifacts`` as usual.

``GET .../content`` streams the bytes of the artifact *record* back (local files directly, remote
ones through the server's download cache), but only from a location the server may read
(:class:`~taskmill.server.confine.Confinement`): a record pointing elsewhere (written into the
database directly) gets 422 naming its uri, and nothing is read or fetched.
"""

from __future__ import annotations

import hashlib
import os
from contextlib import suppress
from typing import IO, Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from taskmill.artifacts import transfer
from taskmill.artifacts.storage import ArtifactStore
from taskmill.errors import ArtifactMissingError, NotFoundError
from taskmill.server.confine import Confinement
from taskmill.server.model_base import Model
from taskmill.server.schemas import StoredContent
from taskmill.store.base import TaskStore


class UploadQuery(Model):
    """``filename``: the stored file's name (default: the artifact name); made path-safe."""

    filename: str = ""


def content_router(
    store: TaskStore, artifacts: ArtifactStore, confinement: Confinement, *, max_upload_bytes: int | None
) -> APIRouter:
    """The artifact content routes, writing to ``artifacts`` and reading inside ``confinement``."""
    router = APIRouter()

    @router.put(
        "/tasks/{task_id}/artifacts/{name:path}/content",
        operation_id="upload_artifact_content",
        response_model=StoredContent,
        openapi_extra={
            "requestBody": {
                "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
            }
        },
    )
    async def upload(task_id: str, name: str, request: Request, q: Annotated[UploadQuery, Query()]) -> Any:
        """Store the request body as the bytes of artifact ``name`` of the task (streamed, any size)."""
        await run_in_threadpool(store.get_task, task_id)  # 404 for an unknown task, before reading
        filename = transfer.safe_filename(q.filename or name) or "artifact"
        uri = transfer.join(
            artifacts.default_uri, transfer.path_segment(task_id), transfer.path_segment(name), filename
        )
        local = transfer.is_local(uri)
        folder = os.path.dirname(uri) if local else artifacts.cache_dir
        await run_in_threadpool(os.makedirs, folder, exist_ok=True)
        tmp = await run_in_threadpool(transfer.new_temp_file, folder)
        try:
            digest, size = await _receive_into(request, tmp, max_upload_bytes)
            if local:
                await run_in_threadpool(os.replace, tmp, uri)
            else:
                await run_in_threadpool(artifacts.upload_file, tmp, uri)
        finally:
            with suppress(FileNotFoundError):
                os.remove(tmp)
        return {"uri": uri, "size": size, "hash": digest}

    @router.get(
        "/tasks/{task_id}/artifacts/{name:path}/content",
        operation_id="download_artifact_content",
        response_class=FileResponse,
        responses={
            200: {"content": {"application/octet-stream": {}}, "description": "The artifact's bytes."}
        },
    )
    def download(task_id: str, name: str) -> FileResponse:
        """The stored bytes of artifact ``name`` of the task (404 if the record or its bytes are gone;
        422 if the record points where the server may not read)."""
        store.get_task(task_id)
        record = next((a for a in store.get_artifacts(task_id) if a.name == name), None)
        if record is None:
            raise NotFoundError(f"task {task_id} has no artifact named '{name}'")
        path = confinement.resolve(record.uri)  # checked again: the record may predate the check
        if transfer.is_local(record.uri):
            if not os.path.isfile(path):
                raise ArtifactMissingError(task_id, name, record.uri)
        else:
            path = artifacts.local_copy(record, extract_archive=False)
        headers = {"X-Taskmill-Hash": record.hash} if record.hash else None
        return FileResponse(
            path,
            media_type="application/octet-stream",
            filename=transfer.basename(record.uri),
            headers=headers,
        )

    return router


async def _receive_into(request: Request, path: str, limit: int | None) -> tuple[str, int]:
    """Write the request body to ``path`` as it arrives; returns ``(sha256:<hex>, size)``."""
    sha = hashlib.sha256()
    size = 0
    fh: IO[bytes] = await run_in_threadpool(open, path, "wb")
    try:
        pending: list[bytes] = []
        pending_size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if limit is not None and size > limit:
                raise HTTPException(413, f"artifact larger than {limit} bytes; this server refuses it")
            sha.update(chunk)
            pending.append(chunk)
            pending_size += len(chunk)
            if pending_size >= 1 << 20:  # write in ~1 MiB steps: fewer thread hops, bounded memory
                await run_in_threadpool(fh.write, b"".join(pending))
                pending, pending_size = [], 0
        if pending:
            await run_in_threadpool(fh.write, b"".join(pending))
        await run_in_threadpool(_flush_and_sync, fh)
    finally:
        await run_in_threadpool(fh.close)
    return f"sha256:{sha.hexdigest()}", size


def _flush_and_sync(fh: IO[bytes]) -> None:
    fh.flush()
    os.fsync(fh.fileno())  # durable before visible: the record pointing here is committed next
