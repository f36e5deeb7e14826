"""Server-sent event streams of the web UI: a run's node patches, a task's console, change pings.

The browser cannot send an API key with ``EventSource``, so these streams live beside the pages
(session cookie) rather than reusing ``/api/v1/events/stream``. They read the store's event feed
and send *derived* data: a run page gets only the nodes whose status or times changed (a few
hundred bytes per change, whatever the size of the run), a step panel gets new console lines.
Nodes carry their task's own start and end (``ts``/``tc``): re-read, by id, only for the nodes
that changed and those still going, so a reload costs the same on a run of any size.

Waiting costs no thread: streams wait on the server's :class:`~taskmill.server.events.EventHub`
(woken by writes through the server and by its store watcher). Without a hub (an app whose
lifespan did not run) they poll the feed every :data:`POLL` seconds.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi.sse import format_sse_event
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from taskmill.core.model import EventRecord
from taskmill.core.states import TaskStatus
from taskmill.runs.records import get_run
from taskmill.runs.views import RunSummary, StepView, run_summary, step_view
from taskmill.server.events import EventHub
from taskmill.server.ui.graph import compact_step
from taskmill.server.ui.runcache import RunCache
from taskmill.server.ui.templating import task_look
from taskmill.server.ui.views import task_times
from taskmill.store.base import TaskFilter, TaskStore

#: Seconds of silence after which a comment line keeps proxies from closing the stream.
KEEP_ALIVE = 15.0
#: Polling period without an event hub.
POLL = 0.1
#: Shortest time between two node reloads of one stream (coalesces bursts on big runs).
MIN_RELOAD = 0.05
#: Steps still going whose task times are re-read per reload, besides the steps that changed
#: (bounds a reload on huge runs; a step's times are exact once it has changed to its end).
RECHECK = 200
#: Lines per console message.
LOG_CHUNK = 500


def sse(event: str, data: Any, event_id: int | None = None) -> bytes:
    """One server-sent event (JSON data), framed by FastAPI's SSE encoder."""
    text = json.dumps(data, separators=(",", ":"), default=str)
    return format_sse_event(data_str=text, event=event, id=None if event_id is None else str(event_id))


def hello(retry_ms: int) -> bytes:
    """The first frame of a stream: how long the browser waits before reconnecting."""
    return format_sse_event(retry=retry_ms, comment="connected")


#: What a stream sends after :data:`KEEP_ALIVE` seconds of silence, so proxies keep it open.
KEEP_ALIVE_FRAME = format_sse_event(comment="keep-alive")


class Feed:
    """Waits for new events of a store, through the app's event hub when there is one."""

    def __init__(self, store: TaskStore, app_state: Any) -> None:
        self._store = store
        self._state = app_state

    def _hub(self) -> EventHub | None:
        hub = getattr(self._state, "event_hub", None)
        return hub if isinstance(hub, EventHub) else None

    def cursor(self) -> int:
        """The newest event id (blocking)."""
        return self._store.last_event_id()

    @property
    def stopping(self) -> bool:
        """True once the server is shutting down (streams should end)."""
        hub = self._hub()
        return hub is not None and hub.stopping

    async def wait(self, after: int, timeout: float, *, task_id: str | None = None) -> list[EventRecord]:
        """Events after ``after`` (of ``task_id`` only, when given), waiting up to ``timeout`` s."""
        deadline = time.monotonic() + timeout
        hub = self._hub()
        while True:
            change = None
            if hub is not None:
                try:
                    change = hub.next_change()
                except RuntimeError:  # the hub was never started: poll instead
                    hub = None
            found = await run_in_threadpool(self._store.events_since, after, limit=1000, task_id=task_id)
            remaining = deadline - time.monotonic()
            if found or remaining <= 0 or self.stopping:
                return found
            if hub is not None and change is not None:
                await hub.wait(change, remaining)
            else:
                await asyncio.sleep(min(POLL, remaining))


class RunWatch:
    """The state of a run as its page last saw it; :meth:`changes` says what moved since."""

    def __init__(self, store: TaskStore, cache: RunCache, run_id: str) -> None:
        self._store = store
        self._cache = cache
        self.run_id = run_id
        self._nodes: dict[str, dict[str, Any]] = {}
        self._run: dict[str, Any] = {}

    def load(self) -> None:
        """Read the whole run (blocking; call in a thread)."""
        run = get_run(self._store, self.run_id)
        nodes = self._cache.nodes(run)
        now = time.time()
        views = [step_view(name, node, now) for name, node in nodes]
        times = task_times(views, self._cache.tasks(run))
        self._nodes = {v.name: compact_step(v, times.get(v.name)) for v in views}
        self._run = self._run_payload(run_summary(run, nodes, now))

    def _times(self, views: list[StepView]) -> dict[str, tuple[float | None, float | None]]:
        """Task times of the steps that may have moved: changed, or still without an end."""
        moving, going = [], []
        for view in views:
            old = self._nodes.get(view.name)
            if (
                old is None
                or old["task"] != view.task_id
                or old["status"] != view.status
                or old["en"] != view.ended
            ):
                moving.append(view)
            elif view.task_id and old["tc"] is None and view.status != "cached":
                going.append(view)
        moving += going[:RECHECK]
        ids = tuple({v.task_id for v in moving if v.task_id})
        tasks = self._store.find_tasks(TaskFilter(ids=ids)) if ids else []
        times = task_times(moving, tasks)
        for view in views:
            old = self._nodes.get(view.name)
            if view.name not in times and old is not None and old["task"] == view.task_id:
                times[view.name] = (old["ts"], old["tc"])
        return times

    def snapshot(self) -> dict[str, Any]:
        """Every node and the run header (sent when the page may have missed changes)."""
        return {"nodes": list(self._nodes.values()), "run": self._run, "now": time.time()}

    def changes(self, reload_nodes: bool) -> dict[str, Any] | None:
        """Re-read what changed (blocking; call in a thread). None when nothing visible moved."""
        changed = []
        if reload_nodes:
            now = time.time()
            views = [step_view(name, node, now) for name, node in self._store.get_nodes(self.run_id)]
            times = self._times(views)
            for view in views:
                fresh = compact_step(view, times.get(view.name))
                if self._nodes.get(view.name) != fresh:
                    self._nodes[view.name] = fresh
                    changed.append(fresh)
        run = self._store.get_task(self.run_id)
        done = sum(1 for n in self._nodes.values() if n["status"] in ("completed", "cached"))
        header = self._header(run.status, run.status_reason or run.status_message, done, len(self._nodes))
        header.update(started=run.started, ended=run.completed)
        moved = header != self._run
        self._run = header
        if not changed and not moved:
            return None
        return {"nodes": changed, "run": header, "now": time.time()}

    @staticmethod
    def _run_payload(summary: RunSummary) -> dict[str, Any]:
        header = RunWatch._header(summary.status, summary.message, summary.done, summary.total)
        header.update(started=summary.started, ended=summary.ended)
        return header

    @staticmethod
    def _header(status: TaskStatus, message: str, done: int, total: int) -> dict[str, Any]:
        look = task_look(status)
        return {
            "status": status.value,
            "cls": look["cls"],
            "label": look["label"],
            "message": "" if message in ("started", status.value) else message,
            "done": done,
            "total": total,
            "final": status.is_final,
        }


async def run_events(
    request: Request, feed: Feed, store: TaskStore, cache: RunCache, run_id: str, after: int
) -> AsyncIterator[bytes]:
    """The run page's stream: ``nodes`` events with changed nodes and the run header.

    Reloads are spaced by at least :data:`MIN_RELOAD` seconds, and by twice the time the last
    one took, so a stream over a huge run coalesces changes instead of reading all the time."""
    watch = RunWatch(store, cache, run_id)
    cursor = await run_in_threadpool(store.last_event_id)  # before reading: later changes come as events
    await run_in_threadpool(watch.load)
    yield hello(1500)
    missed = await run_in_threadpool(store.events_since, after, limit=1, task_id=run_id)
    if (
        missed and missed[0].id <= cursor
    ):  # something changed between the page and this stream: send everything once
        yield sse("nodes", watch.snapshot(), cursor)
    last_reload, spacing = 0.0, MIN_RELOAD
    while not feed.stopping and not await request.is_disconnected():
        events = await feed.wait(cursor, KEEP_ALIVE, task_id=run_id)
        if not events:
            yield KEEP_ALIVE_FRAME
            continue
        wait = spacing - (time.monotonic() - last_reload)
        if wait > 0:  # coalesce: whatever else happens meanwhile is read in the same reload
            await asyncio.sleep(wait)
            events += await run_in_threadpool(store.events_since, events[-1].id, limit=1000, task_id=run_id)
        cursor = events[-1].id
        last_reload = time.monotonic()
        reload_nodes = any(e.kind == "pipeline.nodes" for e in events)
        patch = await run_in_threadpool(watch.changes, reload_nodes)
        spacing = max(MIN_RELOAD, 2 * (time.monotonic() - last_reload))
        if patch is not None:
            yield sse("nodes", patch, cursor)


async def log_events(
    request: Request, feed: Feed, store: TaskStore, task_id: str, after_seq: int
) -> AsyncIterator[bytes]:
    """A task's console as it grows: ``lines`` events (``[[seq, stream, text], ...]``) and an
    ``end`` event once the task has finished and its last lines were sent."""
    cursor = await run_in_threadpool(store.last_event_id)
    yield hello(1500)
    seq = after_seq
    while not feed.stopping and not await request.is_disconnected():
        lines = await run_in_threadpool(store.get_log, task_id, after=seq, limit=LOG_CHUNK)
        if lines:
            seq = lines[-1].seq
            yield sse("lines", [[ln.seq, ln.stream, ln.text] for ln in lines], seq)
            if len(lines) == LOG_CHUNK:
                continue
        task = await run_in_threadpool(store.get_task, task_id)
        if task.status.is_final and not lines:
            yield sse("end", {"status": task.status.value, "label": task.status.label}, seq)
            return
        events = await feed.wait(cursor, KEEP_ALIVE, task_id=task_id)
        if events:
            cursor = events[-1].id
        else:
            yield KEEP_ALIVE_FRAME


async def ping_events(
    request: Request, feed: Feed, kinds: frozenset[str], every: float = 1.0
) -> AsyncIterator[bytes]:
    """``changed`` pings (at most one per ``every`` seconds) when events of ``kinds`` happen, for
    pages that refresh a region (pipelines, runs, queues)."""
    cursor = await run_in_threadpool(feed.cursor)
    yield hello(3000)
    while not feed.stopping and not await request.is_disconnected():
        events = await feed.wait(cursor, KEEP_ALIVE)
        if not events:
            yield KEEP_ALIVE_FRAME
            continue
        cursor = events[-1].id
        if any(e.kind in kinds for e in events):
            yield sse("changed", {"kinds": sorted({e.kind for e in events if e.kind in kinds})})
            await asyncio.sleep(every)
