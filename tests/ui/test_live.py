"""The run page follows a real run without reloading, and the page's actions change real runs."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import expect

from taskmill.core.states import TaskStatus
from taskmill.runs import commands
from taskmill.store.base import TaskStore
from tests.server.harness import Served
from tests.ui.conftest import Gated, Watched, pipeline_env, wait_until
from tests.ui.resources import GREETING_SCRIPT, training

TASKMILL = str(Path(sys.executable).parent / "taskmill")


def node(web: Watched, name: str):  # type: ignore[no-untyped-def]
    return web.page.locator(f'g.node[data-id="{name}"]')


def test_nodes_turn_colour_live_and_the_console_follows(
    web: Watched, gated: Callable[[], Gated], store: TaskStore
) -> None:
    run = gated()
    page = web.page
    page.goto(f"/runs/{run.run_id}")
    expect(page.locator("body[data-live='1']")).to_have_count(1)  # the event stream is open
    expect(node(web, "first")).to_have_attribute("data-status", "running")
    expect(node(web, "second")).to_have_attribute("data-status", "pending")
    # mark the page and a node element: a reload or a full redraw would lose the marks
    page.evaluate(
        "() => { window.__noReload = true;"
        " document.querySelector('g.node[data-id=\"first\"]').__same = true; }"
    )
    web.shot("run-live-running")

    run.release("first")
    expect(node(web, "first")).to_have_attribute("data-status", "completed")
    expect(node(web, "second")).to_have_attribute("data-status", "running")
    expect(node(web, "first").locator(".node-sub")).to_contain_text("Completed ·")
    # the patch carried the task's own start and end: run time apart from the wait for a slot
    expect(node(web, "first").locator("title")).to_contain_text("ran ")
    assert page.evaluate("() => window.__noReload === true")
    assert page.evaluate("() => document.querySelector('g.node[data-id=\"first\"]').__same === true")
    assert page.evaluate("() => document.getElementById('dag').dataset.rendered") == "1"
    expect(page.locator("#run-progress .progress-text")).to_have_text("1/2")

    node(web, "second").click()
    panel = page.locator("#step-panel")
    expect(panel.locator(".step-title")).to_have_text("second")
    panel.locator('[data-tab-target="console"]').click()
    console = panel.locator("pre[data-console]")
    expect(console).to_contain_text("step second is waiting for its marker")
    web.shot("run-live-console")
    run.release("second")
    expect(console).to_contain_text("step second was released")  # appended live
    expect(node(web, "second")).to_have_attribute("data-status", "completed")
    expect(page.locator("#run-status .badge")).to_contain_text("Completed")
    expect(page.locator("#run-progress .progress-text")).to_have_text("2/2")
    assert page.evaluate("() => window.__noReload === true")
    assert run.proc.wait(timeout=30) == 0
    assert store.get_task(run.run_id).status == TaskStatus.completed
    web.shot("run-live-completed")


def test_abort_a_running_run_from_its_page(
    web: Watched, gated: Callable[[], Gated], store: TaskStore
) -> None:
    run = gated()
    page = web.page
    page.goto(f"/runs/{run.run_id}")
    expect(node(web, "first")).to_have_attribute("data-status", "running")
    page.locator("#abort-form button").click()  # the confirmation box is accepted
    expect(page.locator(".flash-ok")).to_contain_text("Sent SIGTERM to the controller")
    expect(page.locator("#run-status .badge")).to_contain_text("Aborted")
    expect(node(web, "first")).to_have_attribute("data-status", "aborted")
    expect(node(web, "second")).to_have_attribute("data-status", "skipped")
    expect(page.locator("#abort-form")).to_be_hidden()
    expect(page.locator("#resume-form")).to_be_visible()
    assert store.get_task(run.run_id).status == TaskStatus.stopped
    assert run.proc.wait(timeout=15) is not None
    web.shot("run-aborted")


def test_new_run_from_the_form_goes_to_the_services_queue(
    web: Watched, ui_server: Served, store: TaskStore
) -> None:
    pipe = training(rate=0.1)
    pipe.debug_pipeline(progress=False)
    page = web.page
    page.goto("/pipelines/runs?project=ui-tests&name=training")
    page.get_by_role("button", name="+ New run").click()
    dialog = page.locator("#new-run-dialog")
    expect(dialog).to_be_visible()
    rate = dialog.locator('input[name="param.rate"]')
    expect(rate).to_have_value("0.1")  # pre-filled from the last run
    rate.fill("0.25")
    expect(dialog.locator('select[name="queue"]')).to_have_value("services")
    web.shot("runs-new-run-form")
    dialog.get_by_role("button", name="Enqueue run").click()

    expect(page.locator(".flash-ok")).to_contain_text("queued on 'services' with rate=0.25")
    new_id = page.url.rsplit("/", 1)[1]
    assert new_id != pipe.id
    record = store.get_task(new_id)
    assert record.status == TaskStatus.queued and record.queue == "services"
    assert store.get_param_dict(new_id)["Args/rate"] == 0.25  # typed like the original value
    assert store.get_param_dict(pipe.id)["Args/rate"] == 0.1
    expect(page.locator("#run-status .badge")).to_contain_text("Pending")
    wait_until(lambda: len(commands.list_runs(store, "ui-tests", "training")) == 2, 5, "the new run")
    page.goto("/pipelines/runs?project=ui-tests&name=training")
    expect(page.locator("#runs-body tr")).to_have_count(2)
    expect(page.locator(f'#runs-body tr[data-run="{new_id}"] .badge')).to_contain_text("Pending")


def test_a_new_run_from_the_form_runs_on_an_agent(
    web: Watched, store: TaskStore, tm_home: Path, tmp_path: Path
) -> None:
    script = tmp_path / "greeting.py"
    script.write_text(GREETING_SCRIPT)
    env = {**pipeline_env(tm_home), "TASKMILL_STORE": store.url}
    first = subprocess.run(
        [sys.executable, str(script)], env=env, cwd=tmp_path, capture_output=True, timeout=60
    )
    assert first.returncode == 0, first.stdout + first.stderr
    store.create_queue("services")
    store.create_queue("default")
    agents = [
        subprocess.Popen(
            [TASKMILL, "agent", *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for args in (
            ("--queue", "services", "--services-mode", "--id", "ui-services-agent"),
            ("--queue", "default", "--id", "ui-steps-agent"),
        )
    ]
    try:
        page = web.page
        page.goto("/pipelines/runs?project=ui-tests&name=greeting")
        page.get_by_role("button", name="+ New run").click()
        page.locator('input[name="param.label"]').fill("the second run")
        page.get_by_role("button", name="Enqueue run").click()
        expect(page.locator(".flash-ok")).to_contain_text("queued on 'services'")
        # the agent takes it and runs it; the open page follows without a reload
        expect(page.locator("#run-status .badge")).to_contain_text("Completed", timeout=30_000)
        expect(page.locator('g.node[data-id="greet"]')).to_have_attribute("data-status", "completed")
        page.locator('g.node[data-id="greet"]').click()
        page.locator('#step-panel [data-tab-target="console"]').click()
        expect(page.locator("#step-panel pre[data-console]")).to_contain_text("hello from the second run")
        web.shot("run-from-form-on-agent")
        page.goto("/queues")
        agents_table = page.locator("section", has_text="Agents")
        expect(agents_table.locator("tr", has_text="ui-steps-agent")).to_contain_text("default")
        expect(page.locator("tr", has_text="services").first).to_contain_text("ui-services-agent")
        web.shot("queues-with-agents")
    finally:
        for agent in agents:
            agent.terminate()
        for agent in agents:
            agent.wait(15)


def test_a_queued_run_that_fails_stops_saying_it_waits(web: Watched, store: TaskStore) -> None:
    pipe = training()
    pipe.debug_pipeline(progress=False)
    store.create_queue("services")
    record = store.enqueue(commands.clone_run(store, pipe.id).id, "services")
    page = web.page
    page.goto(f"/runs/{record.id}")
    expect(page.locator("body[data-live='1']")).to_have_count(1)
    hint = page.locator("#dag-empty .muted")
    expect(page.locator("#dag-empty")).to_be_visible()
    expect(hint).to_contain_text("The run waits in queue services")
    # an agent takes the run and its controller dies at once: the open page follows
    store.set_status(record.id, TaskStatus.in_progress, worker="test-agent")
    store.set_status(record.id, TaskStatus.failed, reason="the controller could not start")
    expect(page.locator("#run-status .badge")).to_contain_text("Failed")
    expect(hint).to_have_text("The run ended (Failed) before any step was added.")
    expect(page.locator("#run-message")).to_have_text("the controller could not start")
    page.reload()
    expect(hint).to_have_text("The run ended (Failed) before any step was added.")
