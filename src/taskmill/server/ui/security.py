"""Sign-in sessions and cross-site request protection for the web UI.

* **Sessions.** The sign-in page takes an API key and checks it with the store. The browser then
  gets a random session token in an ``HttpOnly``, ``SameSite=Strict`` cookie; the server keeps only
  the token's SHA-256, the key's id and a CSRF token, in memory (a server restart signs everyone
  out). Every request re-checks that the key was not revoked meanwhile (cached for a few seconds).
  The API key itself is never stored or echoed.
* **Cross-site requests.** Every state-changing request is a POST that must carry the CSRF token
  (form field ``csrf`` or header ``X-CSRF-Token``) and come from this origin (``Origin``, else
  ``Referer``, must match the ``Host`` it was sent to; ``Sec-Fetch-Site: cross-site`` is refused).
  With authentication off there is no session: the CSRF token is a random ``SameSite=Strict``
  cookie that the form must repeat (double submit), and the origin check still applies.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from taskmill.store.base import TaskStore

SESSION_COOKIE = "tm_session"
CSRF_COOKIE = "tm_csrf"
#: A session ends after this many seconds without a request.
IDLE_TIMEOUT = 12 * 3600.0
#: Seconds a "key not revoked" check is trusted before the store is asked again.
REVOCATION_CHECK_EVERY = 5.0


class SignInRequired(Exception):
    """Raised by page handlers when the viewer has no valid session (auth on)."""


class Forbidden(Exception):
    """Raised when a state-changing request fails the CSRF or origin check."""


@dataclass
class Viewer:
    """Who is looking: the key's id and name (empty with auth off) and the CSRF token to embed."""

    key_id: str
    key_name: str
    csrf: str
    signed_in: bool


@dataclass
class _Session:
    key_id: str
    key_name: str
    csrf: str
    last_seen: float
    checked: float


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Guard:
    """Sessions of one app (instance state: nothing is shared between apps)."""

    def __init__(self, store: TaskStore, *, enabled: bool, clock: Callable[[], float] = time.time) -> None:
        self.enabled = enabled
        self._store = store
        self._clock = clock
        self._sessions: dict[str, _Session] = {}
        self._lock = threading.Lock()

    # -- sessions --------------------------------------------------------------------------------

    def sign_in(self, secret: str) -> str | None:
        """Check ``secret``; returns a new session token, or None if the key is unknown or revoked."""
        secret = secret.strip()
        if not secret or not self._store.check_api_key(secret):
            return None
        record = self._store.find_api_key(secret)
        assert record is not None
        token = secrets.token_urlsafe(32)
        now = self._clock()
        session = _Session(record.id, record.name, secrets.token_urlsafe(24), now, now)
        with self._lock:
            self._expire(now)
            self._sessions[_digest(token)] = session
        return token

    def sign_out(self, token: str | None) -> None:
        """Forget a session (idempotent)."""
        if token:
            with self._lock:
                self._sessions.pop(_digest(token), None)

    def viewer(self, request: Request) -> Viewer | None:
        """The viewer of ``request``; None when auth is on and there is no valid session."""
        if not self.enabled:
            return Viewer("", "", request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24), False)
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            return None
        key = _digest(token)
        now = self._clock()
        with self._lock:
            session = self._sessions.get(key)
            if session is None or now - session.last_seen > IDLE_TIMEOUT:
                self._sessions.pop(key, None)
                return None
            session.last_seen = now
            recheck = now - session.checked > REVOCATION_CHECK_EVERY
        if recheck:
            if not self._key_valid(session.key_id):
                self.sign_out(token)
                return None
            session.checked = now
        return Viewer(session.key_id, session.key_name, session.csrf, True)

    def require(self, request: Request) -> Viewer:
        """The viewer, or :class:`SignInRequired`."""
        viewer = self.viewer(request)
        if viewer is None:
            raise SignInRequired()
        return viewer

    def _key_valid(self, key_id: str) -> bool:
        return any(k.id == key_id and not k.is_revoked for k in self._store.list_api_keys())

    def _expire(self, now: float) -> None:
        for key in [k for k, s in self._sessions.items() if now - s.last_seen > IDLE_TIMEOUT]:
            del self._sessions[key]

    # -- cross-site protection -------------------------------------------------------------------

    def check_post(self, request: Request, viewer: Viewer, sent_token: str | None) -> None:
        """Refuse (:class:`Forbidden`) a state-changing request from elsewhere or without the token."""
        check_origin(request)
        expected = viewer.csrf
        if not expected or not sent_token or not hmac.compare_digest(expected, sent_token):
            raise Forbidden("missing or wrong CSRF token: reload the page and try again")

    def ensure_csrf_cookie(self, request: Request, response: Response, viewer: Viewer) -> None:
        """With auth off, give the browser its double-submit CSRF cookie if it has none."""
        if not self.enabled and not request.cookies.get(CSRF_COOKIE):
            set_cookie(request, response, CSRF_COOKIE, viewer.csrf, max_age=None)


def check_origin(request: Request) -> None:
    """Refuse requests whose ``Origin`` (or ``Referer``) is not this server, or cross-site ones."""
    if request.headers.get("sec-fetch-site", "") == "cross-site":
        raise Forbidden("cross-site request refused")
    host = request.headers.get("host", "")
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        referer = request.headers.get("referer")
        if not referer:
            raise Forbidden("request without Origin or Referer refused: send it from the taskmill page")
        parts = urlsplit(referer)
        origin = f"{parts.scheme}://{parts.netloc}"
    parts = urlsplit(origin)
    if parts.netloc != host or parts.scheme not in ("http", "https"):
        raise Forbidden(f"request from another origin ({origin}) refused")


def set_cookie(request: Request, response: Response, name: str, value: str, *, max_age: int | None) -> None:
    """An ``HttpOnly``, ``SameSite=Strict`` cookie for the whole site (``Secure`` over https)."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )


def safe_next(target: str | None) -> str:
    """A local path to go to after signing in (never another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
