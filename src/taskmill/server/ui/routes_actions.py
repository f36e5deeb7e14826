"""State-changing routes of the web UI (all POST, CSRF token and same origin required): signing in
and out, a new run with edited parameters, aborting and resuming runs, editing and enqueueing a
draft task.

Each action calls the same command as the CLI (:mod:`taskmill.runs.commands`) and
answers with a redirect (303) to the page to look at next, with a message saying what happened.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from taskmill.core.model import TaskRecord
from taskmill.core.stored import SERVICES_QUEUE
from taskmill.errors import QueueNotFoundError, TaskmillError
from taskmill.runs import commands
from taskmill.runs.editing import set_draft_params
from taskmill.server.ui.context import Ui
from taskmill.server.ui.security import SESSION_COOKIE, check_origin, safe_next, set_cookie
from taskmill.server.ui.views import FormParam, draft_fields, form_params

#: Largest form accepted (the forms are a few parameters; the server caps bodies too).
MAX_FORM_BYTES = 1 << 20


async def read_form(request: Request) -> dict[str, str]:
    """The URL-encoded form of a POST (the UI's forms have no files: no multipart parser needed).
    A repeated field keeps its first value."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise ValueError("form too large")
    form: dict[str, str] = {}
    for key, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
        form.setdefault(key, value)
    return form


def _text(form: dict[str, str], name: str) -> str:
    return form.get(name, "")


def actions_router(ui: Ui) -> APIRouter:
    """The POST routes of ``ui``."""
    router = APIRouter(include_in_schema=False)

    @router.get("/signin")
    def signin_page(request: Request, next: str = "/") -> Response:
        """The sign-in form (an API key); straight on when auth is off or already signed in."""
        if not ui.guard.enabled or ui.guard.viewer(request) is not None:
            return ui.redirect(request, safe_next(next))
        return ui.page(request, "signin.html", None, next=safe_next(next), title="Sign in")

    @router.post("/signin")
    async def signin(request: Request) -> Response:
        """Check the key, start a session, go where the viewer was going."""
        check_origin(request)
        form = await read_form(request)
        target = safe_next(_text(form, "next"))
        token = await run_in_threadpool(ui.guard.sign_in, _text(form, "key"))
        if token is None:
            return ui.page(
                request,
                "signin.html",
                None,
                401,
                next=target,
                title="Sign in",
                problem="That key is unknown or was revoked. Create one with `taskmill server create-key`.",
            )
        response = ui.redirect(request, target)
        set_cookie(request, response, SESSION_COOKIE, token, max_age=None)
        return response

    @router.post("/signout")
    async def signout(request: Request) -> Response:
        """End the session."""
        viewer = ui.guard.require(request)
        form = await read_form(request)
        ui.guard.check_post(request, viewer, _text(form, "csrf"))
        ui.guard.sign_out(request.cookies.get(SESSION_COOKIE))
        response = ui.redirect(request, "/signin")
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @router.post("/runs/{run_id}/new")
    async def new_run(request: Request, run_id: str) -> Response:
        """Clone the run with the edited parameters and put the new run on the chosen queue."""
        viewer = ui.guard.require(request)
        form = await read_form(request)
        ui.guard.check_post(request, viewer, _text(form, "csrf"))
        queue = _text(form, "queue").strip() or SERVICES_QUEUE
        try:
            changed = _changed(form, await run_in_threadpool(form_params, ui.store, run_id))
            record = await run_in_threadpool(_enqueue_new, ui, run_id, queue, changed)
        except (TaskmillError, ValueError) as exc:
            return ui.redirect(request, f"/runs/{run_id}", f"No new run: {exc}", ok=False)
        return ui.redirect(
            request, f"/runs/{record.id}", f"{record.name} queued on '{queue}' with {_listed(changed)}."
        )

    @router.post("/tasks/{task_id}/enqueue")
    async def enqueue_draft(request: Request, task_id: str) -> Response:
        """Save a draft's edited parameters, then put it on the chosen queue (the same as
        ``taskmill tasks set-param`` then ``taskmill queues enqueue``)."""
        viewer = ui.guard.require(request)
        form = await read_form(request)
        ui.guard.check_post(request, viewer, _text(form, "csrf"))
        back = f"/tasks/{task_id}"
        queue = _text(form, "queue").strip()
        try:
            changed = _changed(form, draft_fields(await run_in_threadpool(ui.store.get_params, task_id)))
            await run_in_threadpool(_save_draft, ui, task_id, queue, changed)
        except (TaskmillError, ValueError) as exc:
            return ui.redirect(request, back, f"Not queued, nothing was changed: {exc}", ok=False)
        try:
            record = await run_in_threadpool(ui.store.enqueue, task_id, queue)
        except (TaskmillError, ValueError) as exc:
            saved = f"its parameters were saved ({_listed(changed)}) but " if changed else ""
            return ui.redirect(request, back, f"Not queued: {saved}{exc}", ok=False)
        return ui.redirect(request, back, f"{record.name} queued on '{queue}' with {_listed(changed)}.")

    @router.post("/runs/{run_id}/abort")
    async def abort(request: Request, run_id: str) -> Response:
        """Abort a running or pending run (the same as ``taskmill pipelines abort``)."""
        viewer = ui.guard.require(request)
        form = await read_form(request)
        ui.guard.check_post(request, viewer, _text(form, "csrf"))
        back = safe_next(_text(form, "back")) if _text(form, "back") else f"/runs/{run_id}"
        try:
            message = await run_in_threadpool(commands.abort_run, ui.store, run_id)
        except (TaskmillError, ValueError) as exc:
            return ui.redirect(request, back, f"Not aborted: {exc}", ok=False)
        return ui.redirect(request, back, message[:1].upper() + message[1:] + ".")

    @router.post("/runs/{run_id}/resume")
    async def resume(request: Request, run_id: str) -> Response:
        """Put a failed or aborted run back on a queue; its completed steps are kept."""
        viewer = ui.guard.require(request)
        form = await read_form(request)
        ui.guard.check_post(request, viewer, _text(form, "csrf"))
        queue = _text(form, "queue").strip() or SERVICES_QUEUE
        try:
            record = await run_in_threadpool(_enqueue_resume, ui, run_id, queue)
        except (TaskmillError, ValueError) as exc:
            return ui.redirect(request, f"/runs/{run_id}", f"Not resumed: {exc}", ok=False)
        return ui.redirect(
            request,
            f"/runs/{record.id}",
            f"{record.name} queued on '{queue}' to resume; completed steps are kept.",
        )

    return router


def _changed(form: dict[str, str], fields: list[FormParam]) -> dict[str, str]:
    """The fields whose text the viewer changed (a text area sends its line breaks as CR LF)."""
    changed: dict[str, str] = {}
    for field in fields:
        sent = form.get(f"param.{field.name}")
        if sent is not None and sent.replace("\r\n", "\n") != field.text:
            changed[field.name] = sent.replace("\r\n", "\n")
    return changed


def _listed(changed: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in changed.items()) or "the same parameters"


def _save_draft(ui: Ui, task_id: str, queue: str, changed: dict[str, str]) -> None:
    """Everything checked before the enqueue: the queue exists, the task is a draft; then the
    changed parameters are written (all or nothing)."""
    if not queue:
        raise ValueError("choose a queue")
    ui.store.get_queue(queue)
    set_draft_params(ui.store, task_id, changed)  # also refuses a task that is not a draft


def _ensure_queue(ui: Ui, queue: str) -> None:
    """``services`` exists out of the box (ClearML's too); other queues must have been created."""
    try:
        ui.store.get_queue(queue)
    except QueueNotFoundError:
        if queue != SERVICES_QUEUE:
            raise
        ui.store.create_queue(queue)


def _enqueue_new(ui: Ui, run_id: str, queue: str, params: dict[str, str]) -> TaskRecord:
    _ensure_queue(ui, queue)
    return commands.enqueue_run(ui.store, run_id, queue, params=params)


def _enqueue_resume(ui: Ui, run_id: str, queue: str) -> TaskRecord:
    _ensure_queue(ui, queue)
    return commands.enqueue_resume(ui.store, run_id, queue)
