"""Request limits, as a small ASGI middleware: body size (HTTP 413) and NUL-free paths (422).

A declared ``Content-Length`` above the limit is refused before anything is read; a chunked body
is counted as it arrives and refused once it passes the limit. Paths for which ``exempt`` is true
(artifact content uploads, which stream to disk) are not limited here.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyLimit:
    """Refuse request bodies larger than ``max_bytes`` with 413."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, exempt: Callable[[str], bool]) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope["path"]:  # body and query text is checked by the API models
            await _reply(send, 422, "ValidationError", "the path must not contain NUL characters")
            return
        if self.exempt(scope["path"]):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > self.max_bytes
            except ValueError:
                await _reply(send, 400, "BadRequest", "invalid Content-Length header")
                return
            if too_big:
                await _reply(send, 413, "TooLarge", self._message())
                return
        seen = 0

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    # Raised inside the app's body read: FastAPI passes HTTPExceptions through.
                    raise HTTPException(413, self._message())
            return message

        await self.app(scope, counting_receive, send)

    def _message(self) -> str:
        return f"request body larger than {self.max_bytes} bytes; send less per request (split it)"


async def _reply(send: Send, status: int, kind: str, detail: str) -> None:
    body = json.dumps({"error": kind, "detail": detail, "fields": {}}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
