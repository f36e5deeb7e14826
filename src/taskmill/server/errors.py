"""One place that turns exceptions into HTTP error responses.

Every error response has the body ``{"error": <exception class>, "detail": <message>, "fields":
{...}}``; the HTTP store rebuilds the same exception from it. Mapping: NotFoundError (and missing
artifact bytes) -> 404, ConflictError and InvalidTransitionError -> 409, ValueError (SpecError
included) and invalid requests -> 422, StoreConnectionError -> 503, ArtifactError -> 502. Anything
else is a bug and becomes 500 (logged with its traceback).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from taskmill.errors import (
    ArtifactError,
    ArtifactMissingError,
    ConflictError,
    InvalidTransitionError,
    NotFoundError,
    StoreConnectionError,
    TaskmillError,
)

logger = logging.getLogger(__name__)

#: Exception families and their status codes, most specific first.
STATUS_BY_ERROR: tuple[tuple[type[Exception], int], ...] = (
    (NotFoundError, 404),
    (ArtifactMissingError, 404),
    (ConflictError, 409),
    (InvalidTransitionError, 409),
    (StoreConnectionError, 503),
    (ArtifactError, 502),
    (ValueError, 422),
)


def status_for(exc: Exception) -> int:
    """The HTTP status of an exception raised by the store or the artifact storage."""
    for family, status in STATUS_BY_ERROR:
        if isinstance(exc, family):
            return status
    return 500


def error_body(kind: str, detail: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON body of every error response."""
    return {"error": kind, "detail": detail, "fields": fields or {}}


def _public_fields(exc: Exception) -> dict[str, Any]:
    # Attributes such as task_id, name, current/target let the client rebuild the exception.
    out: dict[str, Any] = {}
    for key, value in vars(exc).items():
        if key.startswith("_"):
            continue
        if isinstance(value, str | int | float | bool) or value is None:
            out[key] = value
        elif isinstance(value, tuple | list) and all(isinstance(v, str) for v in value):
            out[key] = list(value)
    return out


def _format_validation(errors: Any) -> str:
    parts = []
    for err in errors:
        loc = ".".join(str(p) for p in err.get("loc", ()))
        parts.append(f"{loc}: {err.get('msg', 'invalid')}" if loc else str(err.get("msg", "invalid")))
    return (
        "invalid request: "
        + "; ".join(parts[:10])
        + (f" (and {len(parts) - 10} more)" if len(parts) > 10 else "")
    )


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    async def on_domain_error(request: Request, exc: Exception) -> JSONResponse:
        status = status_for(exc)
        if status >= 500:
            # Server-side failures are logged in full but not described to the client: their
            # messages can name the database (and its URL) behind the server.
            logger.error("%s %s failed", request.method, request.url.path, exc_info=exc)
            detail = f"the server failed ({type(exc).__name__}); details are in the server log"
            return JSONResponse(error_body(type(exc).__name__, detail), status_code=status)
        return JSONResponse(error_body(type(exc).__name__, str(exc), _public_fields(exc)), status_code=status)

    async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = exc.errors()
        safe = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
            for e in errors
        ]
        return JSONResponse(
            error_body("ValidationError", _format_validation(errors), {"errors": safe}), status_code=422
        )

    async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        kind = {
            401: "Unauthorized",
            403: "Forbidden",
            404: "NotFound",
            405: "MethodNotAllowed",
            413: "TooLarge",
        }
        return JSONResponse(
            error_body(kind.get(exc.status_code, "HTTPError"), str(exc.detail)),
            status_code=exc.status_code,
            headers=exc.headers,
        )

    app.add_exception_handler(TaskmillError, on_domain_error)
    app.add_exception_handler(ValueError, on_domain_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(HTTPException, on_http_error)
