"""The experiments table (``/tasks``: every task of every project, ClearML's main screen) and the
projects page (``/projects``), with bulk actions on ticked tasks.

All state is in the URL (filters, sort, page, custom columns ``cols=Section/name,metric:title/series``).
Filtering and sorting are done by the store (:meth:`TaskStore.find_tasks`); the store has no
offset, so page ``n`` asks for ``(n + 1) * size + 1`` rows and slices: cheap for the first pages,
linear in the page number for deep ones. Custom columns cost one store read per shown row.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from taskmill.core.model import TaskRecord
from taskmill.core.states import TaskStatus, TaskTypes
from taskmill.errors import TaskmillError
from taskmill.server.ui.context import Ui
from taskmill.server.ui.routes_actions import read_form
from taskmill.store.base import TaskFilter, TaskStore

PAGE_SIZE = 50
#: Sortable columns: URL name -> store order field.
SORTS = {"updated": "last_update", "created": "created", "name": "name"}
BULK_ACTIONS = ("abort", "archive", "unarchive", "enqueue", "tag")
ARCHIVED_TAG = "archived"


@dataclass(frozen=True)
class TableQuery:
    """The table's state, parsed from (and written back to) the URL."""

    name: str = ""
    project: str = ""
    status: tuple[str, ...] = ()
    task_type: tuple[str, ...] = ()
    tag: str = ""
    sort: str = "-updated"
    page: int = 0
    cols: tuple[str, ...] = ()
    archived: bool = False

    @classmethod
    def parse(cls, params: dict[str, list[str]]) -> TableQuery:
        """Read the query string (unknown values are dropped, not errors)."""

        def one(key: str) -> str:
            return (params.get(key) or [""])[0].strip()

        statuses = tuple(s for s in params.get("status", []) if s in TaskStatus.__members__.values())
        types = tuple(t for t in params.get("type", []) if t in TaskTypes.__members__.values())
        sort = one("sort") or "-updated"
        if sort.lstrip("-") not in SORTS:
            sort = "-updated"
        page = int(one("page")) if one("page").isdigit() else 0
        cols = tuple(c.strip() for c in ",".join(params.get("cols", [])).split(",") if c.strip())
        return cls(
            one("name"), one("project"), statuses, types, one("tag"), sort, page, cols, one("archived") == "1"
        )

    def url(self, **changes: object) -> str:
        """``/tasks`` with this state and ``changes`` applied."""
        q = replace(self, **changes)  # type: ignore[arg-type]
        pairs: list[tuple[str, str]] = []
        for key, value in (("name", q.name), ("project", q.project), ("tag", q.tag)):
            if value:
                pairs.append((key, value))
        pairs += [("status", s) for s in q.status] + [("type", t) for t in q.task_type]
        if q.sort != "-updated":
            pairs.append(("sort", q.sort))
        if q.page:
            pairs.append(("page", str(q.page)))
        if q.cols:
            pairs.append(("cols", ",".join(q.cols)))
        if q.archived:
            pairs.append(("archived", "1"))
        return "/tasks" + (f"?{urlencode(pairs)}" if pairs else "")

    def sort_url(self, column: str) -> str:
        """The URL sorting by ``column`` (toggling the direction when it is the current sort)."""
        new = f"-{column}" if self.sort != f"-{column}" else column
        return self.url(sort=new, page=0)

    def store_filter(self, limit: int) -> TaskFilter:
        """The store query of this state."""
        order = ("-" if self.sort.startswith("-") else "") + SORTS[self.sort.lstrip("-")]
        tags = (self.tag,) if self.tag else ()
        return TaskFilter(
            project=self.project or None,
            include_subprojects=bool(self.project),
            name_contains=self.name or None,
            status=tuple(TaskStatus(s) for s in self.status),
            task_type=tuple(TaskTypes(t) for t in self.task_type),
            tags=tags,
            limit=limit,
            order=order,
        )


@dataclass(frozen=True)
class Row:
    """One task of the table, with its custom column values (as text)."""

    task: TaskRecord
    extra: tuple[str, ...]
    duration: float | None


@dataclass(frozen=True)
class TablePage:
    """What the experiments template shows."""

    query: TableQuery
    rows: list[Row]
    has_next: bool
    statuses: tuple[str, ...] = tuple(s.value for s in TaskStatus)
    types: tuple[str, ...] = tuple(t.value for t in TaskTypes)
    projects: list[str] = field(default_factory=list)


def _custom_value(store: TaskStore, task_id: str, col: str) -> str:
    if col.startswith("metric:"):
        title, _, series = col[len("metric:") :].partition("/")
        points = [
            p for p in store.get_scalars(task_id) if p.title == title and (not series or p.series == series)
        ]
        if not points:
            return ""
        last = max(points, key=lambda p: (p.iteration, p.timestamp))
        return f"{last.value:.6g}"
    section, _, name = col.partition("/")
    for p in store.get_params(task_id):
        if (p.section == section and p.name == name) or (not name and p.name == section):
            return str(p.value)
    return ""


def table_page(store: TaskStore, query: TableQuery) -> TablePage:
    """One page of tasks matching ``query`` (blocking: store reads)."""
    want = (query.page + 1) * PAGE_SIZE + 1
    found = store.find_tasks(query.store_filter(want))
    if not query.archived:
        # archived tasks are hidden unless asked for; the store cannot exclude a tag, so this
        # filter runs on the fetched rows (a page may then show fewer rows than the page size)
        found = [t for t in found if ARCHIVED_TAG not in t.system_tags]
    chunk = found[query.page * PAGE_SIZE : (query.page + 1) * PAGE_SIZE]
    rows = []
    for task in chunk:
        extra = tuple(_custom_value(store, task.id, c) for c in query.cols)
        end = task.completed
        duration = (end - task.started) if (task.started and end) else None
        rows.append(Row(task, extra, duration))
    projects = [p.name for p in store.list_projects()]
    return TablePage(query, rows, len(found) > (query.page + 1) * PAGE_SIZE, projects=projects)


def _bulk(store: TaskStore, action: str, ids: list[str], value: str) -> int:
    done = 0
    for task_id in ids:
        task = store.get_task(task_id)
        if action == "abort":
            if task.status.is_final:
                continue
            store.set_status(task_id, TaskStatus.stopped, message="aborted from the web UI")
        elif action in ("archive", "unarchive"):
            tags = tuple(t for t in task.system_tags if t != ARCHIVED_TAG)
            store.update_task(task_id, system_tags=tags + ((ARCHIVED_TAG,) if action == "archive" else ()))
        elif action == "enqueue":
            store.enqueue(task_id, value or "default")
        elif action == "tag" and value:
            if value not in task.tags:
                store.update_task(task_id, tags=(*task.tags, value))
        done += 1
    return done


def experiments_router(ui: Ui) -> APIRouter:
    """``/tasks``, ``/projects`` and ``POST /tasks/bulk`` of ``ui``."""
    router = APIRouter(include_in_schema=False)

    @router.get("/tasks")
    def tasks(request: Request) -> Response:
        """The experiments table."""
        viewer = ui.guard.require(request)
        params: dict[str, list[str]] = {}
        for key, value in request.query_params.multi_items():
            params.setdefault(key, []).append(value)
        try:
            data = table_page(ui.store, TableQuery.parse(params))
        except (TaskmillError, ValueError) as exc:
            return ui.error(request, viewer, exc)
        return ui.page(request, "tasks.html", viewer, data=data, title="Experiments")

    @router.get("/projects")
    def projects(request: Request) -> Response:
        """Every project with its task count."""
        viewer = ui.guard.require(request)
        try:
            items = ui.store.list_projects()
        except (TaskmillError, ValueError) as exc:
            return ui.error(request, viewer, exc)
        return ui.page(request, "projects.html", viewer, projects=items, title="Projects")

    @router.post("/tasks/bulk")
    async def bulk(request: Request) -> Response:
        """Abort, archive, unarchive, enqueue or tag the ticked tasks."""
        viewer = ui.guard.require(request)
        body = await request.body()
        form = await read_form(request)
        ui.guard.check_post(request, viewer, form.get("csrf", ""))
        ids = [v for k, v in parse_qsl(body.decode("utf-8", "replace")) if k == "task"]
        back = form.get("back", "/tasks")
        if not back.startswith("/tasks"):
            back = "/tasks"
        action = form.get("action", "")
        if action not in BULK_ACTIONS or not ids:
            return ui.redirect(request, back, "Tick some tasks and pick an action.", ok=False)
        try:
            done = await run_in_threadpool(_bulk, ui.store, action, ids, form.get("value", "").strip())
        except (TaskmillError, ValueError) as exc:
            return ui.redirect(request, back, f"{action} stopped: {exc}", ok=False)
        return ui.redirect(request, back, f"{action}: {done} of {len(ids)} tasks.")

    return router
