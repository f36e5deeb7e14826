"""The application factory: a FastAPI app serving one task store and one artifact location.

Everything the app needs is passed to :func:`create_app`; nothing is global, so tests and
embedding applications can build as many apps as they like. The server only reads and writes
the store and the artifact storage: it never runs tasks (agents do).

Layout: ``/api/v1/...`` (JSON API, key required except ``/api/v1/health``), ``/openapi.json``,
``/docs``; the web UI, when the package ``taskmill.server.ui`` exists, is mounted by its
``mount(app, store=..., artifacts=..., auth=...)`` function.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import json
import logging
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import JSONResponse

from taskmill.artifacts.storage import ArtifactStore
from taskmill.errors import StoreConnectionError, StoreError
from taskmill.server.apidocs import mount_docs
from taskmill.server.auth import KeyCheck
from taskmill.server.confine import STATE_KEY, Confinement
from taskmill.server.content import content_router
from taskmill.server.errors import install_error_handlers
from taskmill.server.events import EventHub, PokeOnWrite, events_router
from taskmill.server.fencing import AttemptFence
from taskmill.server.limits import BodyLimit
from taskmill.server.model_base import ERROR_RESPONSES, ErrorModel
from taskmill.server.operations import OperationRouter
from taskmill.server.reaper import ServerReaper, dead_after_from_env
from taskmill.server.routes_admin import add_admin_routes
from taskmill.server.routes_tasks import add_task_routes
from taskmill.server.schemas import BatchBody, BatchResult, Health, ServerInfo
from taskmill.store.base import TaskStore

logger = logging.getLogger(__name__)

#: Version segment of every API path.
API_PREFIX = "/api/v1"
#: Default largest JSON request body (artifact content uploads are not limited by it).
DEFAULT_MAX_BODY = 16 * 1024 * 1024

_CONTENT_PATH = re.compile(rf"^{API_PREFIX}/tasks/[^/]+/artifacts/.+/content$")


def _version() -> str:
    try:
        return importlib.metadata.version("taskmill")
    except importlib.metadata.PackageNotFoundError:  # running from a source tree
        return "0+unknown"


class NonFiniteJSONResponse(JSONResponse):
    """JSON whose non-finite floats are written ``NaN``, ``Infinity``, ``-Infinity``.

    Reports carry them (a table with a missing value, a diverged loss) and must read back as
    they were written; Python's ``json`` (the HTTP store) reads these tokens. Starlette's
    default refuses them with a 500.
    """

    def render(self, content: Any) -> bytes:
        """``content`` as compact UTF-8 JSON, non-finite floats included."""
        return json.dumps(content, ensure_ascii=False, allow_nan=True, separators=(",", ":")).encode()


def create_app(
    store: TaskStore,
    artifacts: ArtifactStore,
    *,
    auth: bool = True,
    max_body_bytes: int = DEFAULT_MAX_BODY,
    max_upload_bytes: int | None = None,
    artifact_allow: Sequence[str] = (),
    dead_after: float | None = None,
) -> FastAPI:
    """Build the HTTP application for ``store`` and ``artifacts``.

    Args:
        store: The task store served (SQLite, PostgreSQL). The caller owns it and closes it.
        artifacts: Where streamed artifact uploads go and downloads come from.
        auth: Require an API key on every endpoint except the health check.
        max_body_bytes: Larger JSON request bodies get 413.
        max_upload_bytes: Larger artifact uploads get 413 (None: no limit).
        artifact_allow: Prefixes (absolute folders, URLs with a host) the server may read
            artifact and model bytes from besides ``artifacts``' location: the setting
            ``server.artifact_allow``. Records pointing anywhere else are refused (422) and
            never read; see :mod:`taskmill.server.confine`.
        dead_after: Seconds of this server's uptime without a heartbeat after which an agent is
            dead and its running tasks fail (None: ``$TASKMILL_SERVER_DEAD_AFTER``, else 120);
            see :mod:`taskmill.server.reaper`.

    Returns:
        The application; serve it with :func:`taskmill.server.runner.serve` or any ASGI server.

    Raises:
        ConfigError: If an ``artifact_allow`` prefix is not an absolute folder or a URL with a host.
    """
    confinement = Confinement(artifacts.default_uri, artifact_allow)
    version = _version()
    hub = EventHub(store)
    reaper = ServerReaper(store, dead_after=dead_after_from_env() if dead_after is None else dead_after)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        hub.start()
        reaper.start()
        try:
            yield
        finally:
            reaper.stop()
            hub.stop()

    app = FastAPI(
        title="taskmill",
        version=version,
        summary="Tasks, queues, agents, pipelines and artifacts of a taskmill store.",
        lifespan=lifespan,
        docs_url=None,  # /docs is served from this server, not a CDN (see server.apidocs)
        redoc_url=None,
        default_response_class=NonFiniteJSONResponse,
    )
    mount_docs(app, title="taskmill")
    install_error_handlers(app)
    #: Called by the runner when shutdown begins, so open event streams end instead of being cut.
    app.state.end_streams = hub.stop
    app.state.event_hub = hub  # the web UI's live views wait on it too
    setattr(app.state, STATE_KEY, confinement)  # the web UI's downloads obey it too

    ops = OperationRouter()
    add_task_routes(ops, store, confinement)
    add_admin_routes(ops, store)

    @ops.router.post("/batch", operation_id="batch", response_model=BatchResult)
    def batch(body: BatchBody) -> Any:
        """Run operations (by operation id, with their path, body or query fields as ``args``) in
        order in one transaction: all of them apply or none. Returns each one's result."""
        results = []
        with store.batch():
            for index, op in enumerate(body.ops):
                results.append(ops.run(op.op, op.args, index=index))
        return {"results": results}

    @ops.router.get("/info", operation_id="server_info", response_model=ServerInfo)
    def info() -> Any:
        """Server version, API version and the artifact location clients may write to directly."""
        return {"version": version, "api": API_PREFIX, "artifacts_uri": artifacts.default_uri, "auth": auth}

    guarded: dict[str, Any] = {
        "prefix": API_PREFIX,
        "dependencies": [Depends(KeyCheck(store, enabled=auth)), Depends(AttemptFence(store))],
        "responses": ERROR_RESPONSES,
    }
    app.include_router(ops.router, **guarded)
    app.include_router(events_router(store, hub), **guarded)
    app.include_router(
        content_router(store, artifacts, confinement, max_upload_bytes=max_upload_bytes), **guarded
    )
    app.include_router(
        _health_router(store, version),
        prefix=API_PREFIX,
        responses={503: {"model": ErrorModel, "description": "The store cannot be read."}},
    )

    app.add_middleware(PokeOnWrite, hub=hub)
    app.add_middleware(
        BodyLimit, max_bytes=max_body_bytes, exempt=lambda path: bool(_CONTENT_PATH.match(path))
    )
    _mount_ui(app, store, artifacts, auth)
    return app


def _health_router(store: TaskStore, version: str) -> APIRouter:
    router = APIRouter()

    @router.get("/health", operation_id="health", response_model=Health)
    def health() -> Any:
        """Liveness (no key needed): 200 when the store answers, 503 when it does not."""
        try:
            store.last_event_id()
        except StoreError as exc:
            raise StoreConnectionError(f"the server cannot read its store: {exc}") from exc
        return {"status": "ok", "version": version}

    return router


def _mount_ui(app: FastAPI, store: TaskStore, artifacts: ArtifactStore, auth: bool) -> None:
    """Mount the web UI when its package is installed (it is built separately).

    The hook: ``taskmill.server.ui.mount(app, *, store, artifacts, auth)`` adds the UI's routes
    (at ``/``) to ``app``. A ``taskmill.server.ui`` without ``mount`` is skipped with a warning.
    """
    if importlib.util.find_spec("taskmill.server.ui") is None:
        return
    ui = importlib.import_module("taskmill.server.ui")
    mount = getattr(ui, "mount", None)
    if not callable(mount):
        logger.warning(
            "taskmill.server.ui has no mount(app, *, store, artifacts, auth); the UI is not served"
        )
        return
    mount(app, store=store, artifacts=artifacts, auth=auth)
