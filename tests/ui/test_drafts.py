"""Draft steps from the browser: the task page's edit-and-enqueue form (success and a refused
value), and the run page's way to it. Screenshots go to test-output/ui/."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import Locator, expect

from taskmill import PipelineController
from taskmill.core.states import TaskStatus
from taskmill.store.base import TaskStore
from tests.ui.conftest import Watched, wait_until

HOSTILE = "<img src=x onerror=alert('draft')>"


def _review(x: int, note: str = "") -> int:
    return x * 2


def _make() -> int:
    return 4


@dataclass
class Held:
    """A debug run going in a thread, its step ``review`` waiting as a draft (task ``task_id``)."""

    pipe: PipelineController
    thread: threading.Thread
    task_id: str = ""
    errors: list[BaseException] = field(default_factory=list)

    def finish(self) -> None:
        self.thread.join(30)
        assert not self.thread.is_alive(), "the run did not end after its draft was enqueued"
        assert not self.errors, f"the run raised: {self.errors}"


#: Starts a pipeline whose step ``review`` is a draft (the ``held`` fixture).
Start = Callable[[PipelineController], Held]


@pytest.fixture
def held(store: TaskStore) -> Iterator[Start]:
    """Start a pipeline in debug mode in a thread; returns once its draft step ``review`` has a
    task. Runs still going at the end of the test are stopped."""
    started: list[Held] = []

    def start(pipe: PipelineController) -> Held:
        _ = pipe.id  # the controller task is created here, not raced by the thread
        run = Held(pipe, threading.Thread(target=lambda: _debug(run), daemon=True))
        started.append(run)
        run.thread.start()

        def has_task() -> bool:
            run.task_id = str(dict(store.get_nodes(pipe.id)).get("review", {}).get("job_id") or "")
            assert not run.errors, f"the run raised: {run.errors}"
            return bool(run.task_id)

        wait_until(has_task, 30, "the draft task of step 'review'")
        return run

    yield start
    for run in started:
        if run.thread.is_alive():
            run.pipe.stop()
        run.thread.join(30)


def _debug(run: Held) -> None:
    try:
        run.pipe.debug_pipeline(progress=False)
    except BaseException as exc:  # reported by the test, not lost in the thread
        run.errors.append(exc)


def _draft_page(web: Watched, start: Start, pipe: PipelineController) -> tuple[Held, Locator]:
    """Start ``pipe`` and open the task page of its draft; the run and the page's draft form."""
    run = start(pipe)
    web.page.goto(f"/tasks/{run.task_id}")
    return run, web.page.locator("#draft")


def _plain() -> PipelineController:
    pipe = PipelineController(name="ui draft", project="ui-tests")
    pipe.add_function_step("review", _review, function_kwargs={"x": 21}, function_return="y", draft=True)
    return pipe


def test_a_draft_is_edited_and_enqueued_from_its_task_page(
    web: Watched, store: TaskStore, held: Start
) -> None:
    run, card = _draft_page(web, held, _plain())
    page = web.page
    expect(card).to_contain_text("Draft — edit its parameters and enqueue it to run.")
    x = card.locator('input[name="param.kwargs/x"]')
    expect(x).to_have_value("21")
    expect(card.locator('input[name="param.kwargs/note"]')).to_have_value("")
    expect(card.locator('select[name="queue"]')).to_have_value("default")  # the run created it
    x.fill("5")
    card.locator('select[name="queue"]').select_option("default")
    web.shot("task-draft")
    card.get_by_role("button", name="Save and enqueue").click()

    expect(page.locator(".flash-ok")).to_contain_text("review queued on 'default' with kwargs/x=5.")
    run.finish()
    assert store.get_param_dict(run.task_id)["return/y"] == 10
    assert store.get_param_dict(run.task_id)["kwargs/note"] == ""  # unchanged fields are not written
    assert run.pipe.is_successful()
    page.reload()
    expect(page.locator(".run-title .badge")).to_contain_text("Completed")
    expect(page.locator("#draft")).to_have_count(0)  # no longer a draft: nothing to edit


def test_a_refused_value_changes_nothing(web: Watched, store: TaskStore, held: Start) -> None:
    run, card = _draft_page(web, held, _plain())
    page = web.page
    card.locator('input[name="param.kwargs/x"]').fill("abc")
    card.locator('input[name="param.kwargs/note"]').fill("changed too")
    card.get_by_role("button", name="Save and enqueue").click()

    expect(page.locator(".flash-error")).to_contain_text("Not queued, nothing was changed")
    expect(page.locator(".flash-error")).to_contain_text("kwargs/x")
    web.shot("task-draft-refused")
    assert store.get_task(run.task_id).status == TaskStatus.created
    assert store.get_param_dict(run.task_id)["kwargs/x"] == 21
    assert store.get_param_dict(run.task_id)["kwargs/note"] == ""  # all or nothing
    expect(card.locator('input[name="param.kwargs/x"]')).to_have_value("21")  # the stored value again
    assert run.thread.is_alive()  # the run still waits for its draft


def test_the_run_page_leads_to_a_draft_and_parent_outputs_are_read_only(
    web: Watched, store: TaskStore, held: Start
) -> None:
    pipe = PipelineController(name="ui draft chain", project="ui-tests")
    pipe.add_function_step("make", _make, function_return="m")
    pipe.add_function_step(
        "review",
        _review,
        function_kwargs={"x": "${make.m}", "note": HOSTILE},
        function_return="y",
        draft=True,
    )
    run = held(pipe)
    page = web.page
    page.goto(f"/runs/{pipe.id}")
    page.locator('g.node[data-id="review"]').click()
    panel = page.locator("#step-panel")
    expect(panel.locator(".step-title")).to_have_text("review")
    link = panel.get_by_role("link", name="Edit & enqueue")
    expect(link).to_have_attribute("href", f"/tasks/{run.task_id}#draft")
    web.shot("run-step-draft")
    page.locator('g.node[data-id="make"]').click()
    expect(panel.locator(".step-title")).to_have_text("make")
    expect(panel.get_by_role("link", name="Edit & enqueue")).to_have_count(0)  # not a draft

    page.locator('g.node[data-id="review"]').click()
    panel.get_by_role("link", name="Edit & enqueue").click()
    card = page.locator("#draft")
    expect(card).to_be_visible()
    expect(card.locator('input[name="param.kwargs/note"]')).to_have_value(HOSTILE)  # as text
    expect(card.locator('[name="param.kwargs_artifacts/x"]')).to_have_count(0)
    expect(card.locator("table.kv")).to_contain_text("kwargs_artifacts/x")
    card.get_by_role("button", name="Save and enqueue").click()

    expect(page.locator(".flash-ok")).to_contain_text("review queued on 'default' with the same parameters.")
    run.finish()
    assert store.get_param_dict(run.task_id)["return/y"] == 8
    assert pipe.is_successful()
