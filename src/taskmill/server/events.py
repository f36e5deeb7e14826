"""The event feed over HTTP: long-poll (``GET /events?wait=S``) and Server-Sent Events (``/events/stream``).

Waiting readers cost no thread: they wait on an :class:`EventHub`, which wakes them when the feed
may have grown. Two things wake it: every write request that went through this server (a
middleware pokes the hub as the response starts), and one watcher thread blocked in
:meth:`TaskStore.wait_events` that notices writers using the database directly (an agent or a
controller configured with the database URL). A woken reader re-reads the feed from its own
position, so a spurious wake-up costs one indexed query.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.sse import EventSourceResponse, format_sse_event
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from taskmill.server.schemas import EventModel, EventsQuery, StreamQuery
from taskmill.store import wire
from taskmill.store.base import TaskStore

logger = logging.getLogger(__name__)

#: Seconds between SSE keep-alive comments when nothing happens (proxies drop silent streams).
KEEP_ALIVE = 15.0
#: Longest single wait of the watcher thread; bounds how long stopping the hub takes.
WATCH_SLICE = 1.0


class EventHub:
    """Wakes async readers of the event feed; see the module docstring. One per app."""

    def __init__(self, store: TaskStore) -> None:
        self._store = store
        self._loop: asyncio.AbstractEventLoop | None = None
        self._next: asyncio.Future[None] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start watching (call from the event loop, e.g. at app start-up)."""
        self._loop = asyncio.get_running_loop()
        self._next = self._loop.create_future()
        self._stop = threading.Event()  # a new one: a watcher of a previous start keeps its own
        self._thread = threading.Thread(
            target=self._watch, args=(self._stop,), name="taskmill-event-watch", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Wake every reader (they return what they have) and tell the watcher thread to end.

        Does not wait for the thread: it is a daemon that ends within :data:`WATCH_SLICE`
        seconds, or at once if the store is closed meanwhile.
        """
        self._stop.set()
        self.poke()
        self._thread = None

    @property
    def stopping(self) -> bool:
        """True once :meth:`stop` was called."""
        return self._stop.is_set()

    def poke(self) -> None:
        """Wake every waiting reader. Call from the event loop."""
        if self._next is not None and not self._next.done():
            self._next.set_result(None)
        if self._loop is not None:
            self._next = self._loop.create_future()

    def next_change(self) -> asyncio.Future[None]:
        """A future completed at the next poke. Take it *before* reading the feed, then wait on it."""
        if self._next is None:
            raise RuntimeError("the event hub is not started (the app's lifespan did not run)")
        return self._next

    async def wait(self, change: asyncio.Future[None], timeout: float) -> bool:
        """Wait until ``change`` completes or ``timeout`` passes; True if it completed."""
        if timeout <= 0:
            return change.done()
        try:
            await asyncio.wait_for(asyncio.shield(change), timeout)
        except TimeoutError:
            return False
        return True

    def _watch(self, stop: threading.Event) -> None:
        loop = self._loop
        assert loop is not None
        cursor = -1
        while not stop.is_set():
            try:
                if cursor < 0:
                    cursor = self._store.last_event_id()
                found = self._store.wait_events(cursor, WATCH_SLICE, limit=1)
                if found:
                    cursor = self._store.last_event_id()
                    loop.call_soon_threadsafe(self.poke)
            except RuntimeError:  # call_soon_threadsafe on a closed loop: the server is gone
                return
            except Exception as exc:  # a background thread must survive store hiccups
                if stop.is_set():
                    return
                # Backends may leak driver errors from their wait (e.g. a dropped LISTEN connection).
                logger.warning("event watcher: %s: %s; retrying", type(exc).__name__, exc)
                cursor = -1
                stop.wait(WATCH_SLICE)


class PokeOnWrite:
    """ASGI middleware: after a write request (POST/PUT/PATCH/DELETE) answers, poke the hub."""

    def __init__(self, app: ASGIApp, *, hub: EventHub) -> None:
        self.app = app
        self.hub = hub

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return

        async def send_and_poke(message: Message) -> None:
            await send(message)
            if message["type"] == "http.response.start" and message["status"] < 400:
                self.hub.poke()

        await self.app(scope, receive, send_and_poke)


def _sse(event: dict[str, Any]) -> bytes:
    data = json.dumps(event, separators=(",", ":"))
    return format_sse_event(data_str=data, event=str(event["kind"]), id=str(event["id"]))


def events_router(store: TaskStore, hub: EventHub) -> APIRouter:
    """The long-poll and SSE routes of ``store``."""
    router = APIRouter()

    @router.get("/events", operation_id="events_since", response_model=list[EventModel])
    async def events_since(q: Annotated[EventsQuery, Query()]) -> Any:
        """Events with ``id > after`` in order; with ``wait`` > 0 the request blocks up to that many
        seconds until there is at least one (long-poll). An empty list means none came in time."""
        deadline = time.monotonic() + q.wait
        while True:
            change = hub.next_change()
            found = await run_in_threadpool(store.events_since, q.after, limit=q.limit, task_id=q.task_id)
            remaining = deadline - time.monotonic()
            if found or remaining <= 0 or hub.stopping:
                return [wire.to_wire(e) for e in found]
            await hub.wait(change, remaining)

    @router.get(
        "/events/stream",
        operation_id="events_stream",
        responses={200: {"content": {"text/event-stream": {}}, "description": "An endless SSE stream."}},
    )
    async def events_stream(
        request: Request,
        q: Annotated[StreamQuery, Query()],
        last_event_id: Annotated[str | None, Header()] = None,
    ) -> EventSourceResponse:
        """Server-Sent Events: each feed event as ``id:`` / ``event: <kind>`` / ``data: <json>``.

        Starts after ``after`` (or the ``Last-Event-ID`` header of a reconnecting client; by
        default at the newest event, so only new ones are sent). A comment line is sent every
        15 s of silence to keep proxies from closing the stream."""
        if last_event_id is not None and last_event_id.strip().isdigit():
            start: int | None = int(last_event_id.strip())
        else:
            start = q.after
        if start is None:
            start = await run_in_threadpool(store.last_event_id)

        async def stream(after: int) -> AsyncIterator[bytes]:
            yield format_sse_event(retry=1000, comment="connected")
            while not hub.stopping and not await request.is_disconnected():
                change = hub.next_change()
                found = await run_in_threadpool(store.events_since, after, limit=1000, task_id=q.task_id)
                for event in found:
                    yield _sse(wire.to_wire(event))
                    after = event.id
                if not found and not await hub.wait(change, KEEP_ALIVE):
                    yield format_sse_event(comment="keep-alive")

        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return EventSourceResponse(stream(start), headers=headers)

    return router
