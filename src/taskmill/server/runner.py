"""Running the app with uvicorn: in the foreground (the CLI) or in a background thread (tests, benchmarks).

Graceful shutdown is bounded (:data:`GRACEFUL_SHUTDOWN` seconds): open event streams are cut
after it, and clients reconnect (the HTTP store retries; SSE clients resume from ``Last-Event-ID``).
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Any

import uvicorn

#: Seconds a stopping server waits for open requests (event streams never end on their own).
GRACEFUL_SHUTDOWN = 1


class _Server(uvicorn.Server):
    """uvicorn's server, ending the app's event streams first when it shuts down."""

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        state = getattr(self.config.app, "state", None)
        end_streams = getattr(state, "end_streams", None)
        if callable(end_streams):
            end_streams()
        await super().shutdown(sockets)


def _config(app: Any, host: str, port: int, log_level: str) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN,
        # Long-poll and SSE responses stay open; keep idle keep-alive connections for a while too.
        timeout_keep_alive=30,
    )


def serve(app: Any, *, host: str = "127.0.0.1", port: int = 8080, log_level: str = "info") -> None:
    """Serve ``app`` until interrupted (Ctrl-C / SIGTERM stop it gracefully)."""
    _Server(_config(app, host, port, log_level)).run()


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free right now on ``host``."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class ServerThread:
    """``app`` served by uvicorn in a daemon thread; a context manager (start/stop).

    ``url`` is ``http://host:port``. :meth:`stop` then :meth:`start` serves again on the same
    port (a restart); the port is reused at once (uvicorn sets ``SO_REUSEADDR``).
    """

    def __init__(
        self, app: Any, *, host: str = "127.0.0.1", port: int | None = None, log_level: str = "warning"
    ):
        self.app = app
        self.host = host
        self.port = port if port is not None else free_port(host)
        self.log_level = log_level
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL of the server."""
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> ServerThread:
        """Start serving; returns once the server accepts connections."""
        if self._thread is not None:
            raise RuntimeError("server already running")
        server = _Server(_config(self.app, self.host, self.port, self.log_level))
        thread = threading.Thread(target=server.run, name=f"uvicorn:{self.port}", daemon=True)
        thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                raise RuntimeError(f"uvicorn did not start on {self.url}")
            time.sleep(0.005)
        self._server, self._thread = server, thread
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving and wait for the thread to end (idempotent)."""
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout)
        self._server = self._thread = None

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
