"""HTTP plumbing of the HTTP store: one pooled httpx client, retries, and errors mapped back.

:class:`Transport` sends JSON requests to a ``taskmill server`` API. While the server cannot be
reached (down, restarting) it retries with a capped exponential backoff for up to ``retry_for``
seconds (the retry window: :func:`retry_window_from_env`, default :data:`DEFAULT_RETRY_FOR`), then
raises :class:`~taskmill.errors.StoreConnectionError` naming the URL. While it retries it says so
on the ``taskmill.store.http_transport`` logger (a warning when the server is first found
unreachable, again every :data:`REPORT_EVERY` s, and when it answers again), once per outage for
all threads sharing the transport. Which failures are retried, and why that is safe:

* the connection could not be made, or the server closed it without answering: the request was
  not processed (uvicorn only closes idle connections when it stops), so any request is retried;
* the connection broke after the request was sent: only idempotent requests (GET, PUT, DELETE,
  and POSTs made idempotent by a request id, such as claims) are retried, since a plain POST
  may have been applied;
* 503 (the server cannot reach its database): retried, nothing was applied.

Error responses are turned back into the exception the server-side store raised (same class,
same message, same attributes such as ``task_id``), so callers cannot tell the HTTP store from a
local one.
"""

from __future__ import annotations

import json as jsonlib
import logging
import os
import ssl
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import httpx

import taskmill.errors as errors
from taskmill.errors import (
    ConflictError,
    NotFoundError,
    StoreConnectionError,
    StoreError,
    TaskmillError,
)

logger = logging.getLogger(__name__)

#: Backoff between retries: starts here, doubles, capped at :data:`MAX_DELAY` (so a restarted
#: server is noticed within about a second).
FIRST_DELAY = 0.05
MAX_DELAY = 1.0
#: Seconds clients (agents, step processes, controllers) keep retrying an unreachable server by
#: default: server restarts, upgrades and host reboots of a few minutes never fail a run.
DEFAULT_RETRY_FOR = 600.0
#: The environment variable that overrides :data:`DEFAULT_RETRY_FOR`.
RETRY_ENV = "TASKMILL_STORE_RETRY"
#: While the server stays unreachable, a reminder is logged this often (seconds).
REPORT_EVERY = 15.0
_IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


def retry_window_from_env(default: float = DEFAULT_RETRY_FOR) -> float:
    """``$TASKMILL_STORE_RETRY`` as seconds (``default`` when unset or empty); 0 means no retries.

    Raises ValueError naming the variable for a value that is not a number of seconds >= 0.
    """
    text = os.environ.get(RETRY_ENV, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise ValueError(f"{RETRY_ENV} must be a number of seconds >= 0, got {text!r}")
    return value


class StoreAuthError(StoreError):
    """Raised when the server refuses the API key: missing or unknown (401) or revoked (403)."""

    def __init__(self, message: str, status: int) -> None:
        self.status = status
        super().__init__(message)


def _rebuild(kind: str, status: int, detail: str, fields: Mapping[str, Any]) -> Exception:
    """The exception the server reported: the same class when it is one of ours."""
    cls = getattr(errors, kind, None)
    if isinstance(cls, type) and issubclass(cls, TaskmillError):
        exc = cls.__new__(cls)
        Exception.__init__(exc, detail)  # bypass custom __init__s: keep the server's exact message
        for key, value in fields.items():
            setattr(exc, key, tuple(value) if isinstance(value, list) else value)
        return exc
    if kind in ("ValueError", "ValidationError") or status in (400, 413, 422):
        return ValueError(detail)
    if status == 404:
        return NotFoundError(detail)
    if status == 409:
        return ConflictError(detail)
    return StoreError(f"server error {status}: {detail}")


class Transport:
    """JSON requests to ``<url>/api/v1`` with retries and error mapping; thread-safe."""

    def __init__(
        self,
        url: str,
        api_key: str | None,
        *,
        timeout: float,
        retry_for: float,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url
        self.retry_for = retry_for
        self._outage_lock = threading.Lock()  # guards the two fields below
        self._down_since: float | None = None  # wall clock when the current outage was first seen
        self._reported: float = 0.0  # monotonic time of the last "still unreachable" line
        headers = {"User-Agent": "taskmill-http-store"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self.client = httpx.Client(
            base_url=url.rstrip("/") + "/api/v1",
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=5.0),
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=16),
            # Plain http needs no certificates; loading the CA bundle costs ~16 ms per process,
            # which every step process started by an agent would pay.
            verify=True if url.startswith("https://") else ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT),
            transport=transport,
        )

    def close(self) -> None:
        """Close pooled connections (idempotent)."""
        self.client.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        timeout: float | None = None,
        content: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool = False,
    ) -> httpx.Response:
        """Send a request (retrying as the module docstring says); returns a 2xx response.

        ``idempotent``: repeating the request is safe even after it was sent (a POST that
        carries a request id, like a claim), so a broken connection is retried for it too.

        Raises the mapped store exception for an error response, StoreConnectionError when the
        server stayed unreachable for ``retry_for`` seconds.
        """
        if json is not None:
            content, headers = encode_json(json), {**(headers or {}), "Content-Type": "application/json"}
        deadline = time.monotonic() + self.retry_for
        delay = FIRST_DELAY
        tries = 0
        while True:
            tries += 1
            try:
                response = self.client.request(
                    method,
                    path,
                    params=_query(params),
                    content=content,
                    headers=headers,
                    timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else timeout,
                )
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                why = f"{type(exc).__name__}: {exc}"
            except httpx.TransportError as exc:
                if method not in _IDEMPOTENT and not idempotent:
                    raise StoreConnectionError(
                        f"taskmill server {self.url}: {method} {path} failed after it was sent "
                        f"({type(exc).__name__}: {exc}); it may or may not have been applied"
                    ) from exc
                why = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code != 503:
                    self._reachable()
                    return self.checked(response)
                why = f"503 {_detail(response)}"
            if time.monotonic() + delay > deadline:
                raise StoreConnectionError(
                    f"cannot reach the taskmill server at {self.url} ({method} {path}): {why}; gave up "
                    f"after {tries} attempts in {self.retry_for:.0f} s (the retry window, "
                    f"{RETRY_ENV}). Is `taskmill server` running there, and is TASKMILL_STORE right?"
                )
            self._unreachable(why)
            time.sleep(delay)
            delay = min(delay * 2, MAX_DELAY)

    def _unreachable(self, why: str) -> None:
        """Say (once per outage, then every REPORT_EVERY s) that the server is out of reach."""
        now = time.monotonic()
        with self._outage_lock:
            first = self._down_since is None
            if not first and now - self._reported < REPORT_EVERY:
                return
            if first:
                self._down_since = time.time()
            self._reported = now
            since = self._down_since or time.time()
        stamp = time.strftime("%H:%M:%S", time.localtime(since))
        if first:
            logger.warning(
                "taskmill server %s unreachable since %s (%s); retrying for up to %.0f s",
                self.url,
                stamp,
                why,
                self.retry_for,
            )
        else:
            logger.warning(
                "taskmill server %s unreachable since %s (%.0f s, %s); still retrying",
                self.url,
                stamp,
                time.time() - since,
                why,
            )

    def _reachable(self) -> None:
        if self._down_since is None:  # the common case: no lock on the fast path
            return
        with self._outage_lock:
            since, self._down_since = self._down_since, None
        if since is not None:
            logger.warning("taskmill server %s reachable again after %.0f s", self.url, time.time() - since)

    @contextmanager
    def stream(self, method: str, path: str, **kwargs: Any) -> Iterator[httpx.Response]:
        """Like :meth:`request` but the body is streamed (``response.iter_bytes()``).

        Retried through an outage (up to ``retry_for`` s) only while no connection could be made,
        so a streamed request body was not consumed; a connection broken mid-stream raises
        StoreConnectionError.
        """
        deadline = time.monotonic() + self.retry_for
        delay = FIRST_DELAY
        yielded = False
        while True:
            try:
                with self.client.stream(method, path, **kwargs) as response:
                    if response.status_code >= 400:
                        response.read()
                        self.checked(response)
                    self._reachable()
                    yielded = True
                    yield response
                    return
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                if yielded or time.monotonic() + delay > deadline:
                    raise StoreConnectionError(
                        f"taskmill server {self.url}: {type(exc).__name__}: {exc} (gave up after "
                        f"{self.retry_for:.0f} s, {RETRY_ENV})"
                    ) from exc
                self._unreachable(f"{type(exc).__name__}: {exc}")
            except httpx.TransportError as exc:
                raise StoreConnectionError(
                    f"taskmill server {self.url}: {type(exc).__name__}: {exc}"
                ) from exc
            time.sleep(delay)
            delay = min(delay * 2, MAX_DELAY)

    def checked(self, response: httpx.Response) -> httpx.Response:
        """``response`` if it is a success; else raise the exception it reports."""
        if response.status_code < 400:
            return response
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        detail = str(body.get("detail") or response.text or response.reason_phrase)
        if response.status_code in (401, 403):
            raise StoreAuthError(
                f"taskmill server {self.url} refused the request: {detail}", response.status_code
            )
        fields = body.get("fields") if isinstance(body.get("fields"), dict) else {}
        raise _rebuild(str(body.get("error", "")), response.status_code, detail, fields or {})


def encode_json(value: Any) -> bytes:
    """``value`` as a compact UTF-8 JSON body; non-finite floats as ``NaN``, ``Infinity``, ``-Infinity``.

    httpx refuses those floats, but reports carry them (a table with a missing value) and the
    server reads and writes these tokens, so they round-trip unchanged.
    """
    return jsonlib.dumps(value, ensure_ascii=False, allow_nan=True, separators=(",", ":")).encode()


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
        return str(body.get("detail", "")) if isinstance(body, dict) else ""
    except ValueError:
        return response.text[:200]


def _query(params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if params is None:
        return None
    return {k: v for k, v in params.items() if v is not None and v != []}
