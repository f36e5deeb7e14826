"""The pages on real runs: pipelines, runs, a run (graph, step info, timeline), compare, task,
queues and agents; user text shown as text. Screenshots go to test-output/ui/."""

from __future__ import annotations

import httpx
from playwright.sync_api import expect

from taskmill.core.model import LogLine, TaskRecord, new_id
from taskmill.store.base import TaskStore
from tests.server.harness import Served
from tests.ui.conftest import Watched
from tests.ui.resources import hostile, training


def test_pipelines_runs_run_compare_and_task_pages(web: Watched, store: TaskStore) -> None:
    ok = training(rate=0.1)
    ok.debug_pipeline(progress=False)
    failed = training(rate=0.2, fail=True)
    failed.debug_pipeline(progress=False)
    page = web.page

    page.goto("/pipelines")
    card = page.locator(".pipeline-card", has_text="training")
    expect(card).to_contain_text("1 completed")
    expect(card).to_contain_text("1 failed")
    web.shot("pipelines")
    page.get_by_placeholder("Search name, project, tag").fill("no such pipeline")
    expect(card).to_be_hidden()
    page.get_by_placeholder("Search name, project, tag").fill("ui-tests")
    expect(card).to_be_visible()

    card.click()
    rows = page.locator("#runs-body tr")
    expect(rows).to_have_count(2)
    expect(rows.first.locator(".badge")).to_contain_text("Failed")  # newest first
    expect(rows.first.locator(".progress-text")).to_have_text("2/3")
    web.shot("runs")
    page.locator(".chip", has_text="Completed").click()
    expect(page.locator("#runs-body tr:visible")).to_have_count(1)
    page.locator(".chip", has_text="All").click()
    page.locator("th", has_text="Started").click()  # oldest first now
    expect(rows.first.locator(".badge")).to_contain_text("Completed")

    for box in page.locator('#runs-body input[name="run"]').all():
        box.check()
    page.get_by_role("button", name="Compare").click()
    expect(page.locator("h1")).to_have_text("Compare runs")
    rate = page.locator(".compare-params tr", has_text="rate")
    expect(rate).to_have_class("differs")
    expect(page.locator(".compare-steps tr", has_text="evaluate").first).to_contain_text("status")
    web.shot("compare")

    page.goto(f"/runs/{failed.id}")
    expect(page.locator("g.node")).to_have_count(3)
    expect(page.locator('g.node[data-id="evaluate"]')).to_have_attribute("data-status", "failed")
    expect(page.locator('g.node[data-id="train"] .node-sub')).to_contain_text("Completed ·")
    expect(page.locator("#run-message")).to_contain_text("evaluate")
    expect(page.locator("#run-info-panel")).to_contain_text("learning rate")
    web.shot("run-failed")

    page.locator('g.node[data-id="evaluate"]').click()
    panel = page.locator("#step-panel")
    expect(panel).to_contain_text("evaluation refused the model")
    panel.locator('[data-tab-target="code"]').click()
    expect(panel.locator("pre.code")).to_contain_text("def evaluate(score: float, fail: bool = False)")
    web.shot("run-step-failed")

    page.locator('g.node[data-id="train"]').click()
    expect(panel.locator(".step-title")).to_have_text("train")
    expect(panel).to_contain_text("loss")  # its metrics
    panel.locator('[data-tab-target="console"]').click()
    expect(panel.locator("pre[data-console]")).to_contain_text("trained on 4 numbers at rate 0.2")
    panel.locator('[data-tab-target="cache"]').click()
    expect(panel).to_contain_text("off for this step")  # no cache key is computed when caching is off
    page.locator('g.node[data-id="load"]').click()
    expect(panel.locator(".step-title")).to_have_text("load")
    panel.locator('[data-tab-target="cache"]').click()
    expect(panel.locator(".cache-result")).to_contain_text("HIT")  # reused from the first run
    expect(panel).to_contain_text("Cache key")
    panel.locator('[data-tab-target="overview"]').click()
    download = panel.locator("a[download]").first
    with page.expect_download() as info:
        download.click()
    assert info.value.suggested_filename.startswith("xs")
    web.shot("run-step-cached")

    page.locator(".run-tabs .tab", has_text="Timeline").click()
    expect(page.locator(".gantt .gantt-row")).to_have_count(3)
    web.shot("run-timeline")

    page.locator(".run-tabs .tab", has_text="Graph").click()
    page.get_by_role("button", name="Collapse stages").click()
    expect(page.locator("g.node.kind-stage")).to_have_count(2)
    expect(page.locator('g.node[data-id="stage:model"] .node-sub')).to_contain_text("1 done · 1 failed")
    page.get_by_role("button", name="Expand stages").click()
    expect(page.locator("g.node.kind-step")).to_have_count(3)

    train_task = str(dict(store.get_nodes(failed.id))["train"]["job_id"])
    page.goto(f"/tasks/{train_task}")
    page.locator('[data-tab-target="scalars"]').click()
    expect(page.locator(".chart figcaption")).to_have_text("loss")
    expect(page.locator(".chart polyline")).to_have_count(2)  # train and validation
    web.shot("task-scalars")
    page.locator('[data-tab-target="script"]').click()
    expect(page.locator("#script")).to_contain_text("def train(")
    web.shot("task-script")


def test_queues_and_agents(web: Watched, store: TaskStore) -> None:
    store.create_queue("gpu")
    waiting = store.create_task(TaskRecord(id=new_id(), name="needs a gpu", project="ui-tests"))
    store.enqueue(waiting.id, "gpu")
    busy = store.create_task(TaskRecord(id=new_id(), name="busy work", project="ui-tests"))
    store.register_worker("agent-1", ["default"], {"host": "box-1", "pid": 4242})
    store.heartbeat("agent-1", busy.id)
    page = web.page
    page.goto("/queues")
    gpu = page.locator("tr", has_text="needs a gpu")
    expect(gpu).to_contain_text("no agent")
    expect(gpu.locator(".depth")).to_have_text("1")
    # agent-1 shows in its queue's row too ("Served by"): look in the agents table
    agents = page.locator("section", has=page.get_by_role("heading", name="Agents"))
    agent = agents.locator("tr", has_text="agent-1")
    expect(agent).to_contain_text("busy work")
    expect(agent).to_contain_text("Busy")
    web.shot("queues")
    store.enqueue(
        store.create_task(TaskRecord(id=new_id(), name="second gpu job", project="ui-tests")).id, "gpu"
    )
    expect(page.locator("tr", has_text="needs a gpu").locator(".depth")).to_have_text("2")  # live refresh


def test_user_text_is_shown_as_text(web: Watched, ui_server: Served, store: TaskStore) -> None:
    pipe = hostile()
    pipe.debug_pipeline(progress=False)
    step = "<script>alert(1)</script>"
    task_id = str(dict(store.get_nodes(pipe.id))[step]["job_id"])
    store.append_log(task_id, [LogLine("<img src=x onerror=alert('live')>")])
    page = web.page

    page.goto("/pipelines")
    expect(page.locator(".card-title", has_text="<img src=x onerror=alert(1)>")).to_be_visible()
    page.goto(f"/runs/{pipe.id}")
    expect(page.locator("h1")).to_have_text("<img src=x onerror=alert(1)> #1")
    node = page.locator("g.node").first
    expect(node).to_have_attribute("data-id", step)
    expect(node.locator(".node-name")).to_contain_text("<script>alert(1)")
    expect(page.locator("#run-info-panel")).to_contain_text("<script>alert('param')</script>")
    node.click()
    panel = page.locator("#step-panel")
    expect(panel.locator(".step-title")).to_have_text(step)
    panel.locator('[data-tab-target="console"]').click()
    expect(panel.locator("pre[data-console]")).to_contain_text(
        "<b>not bold</b> & <script>alert('log')</script>"
    )
    expect(panel.locator("pre[data-console]")).to_contain_text("<img src=x onerror=alert('live')>")
    expect(panel.locator("pre[data-console] b")).to_have_count(0)
    web.shot("escaping")
    page.goto(f"/tasks/{task_id}")
    expect(page.locator("h1")).to_have_text(step)

    html = httpx.get(f"{ui_server.url}/runs/{pipe.id}").text
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    # the page's own data is JSON inside a script block: "<" is escaped there too
    assert "\\u003cscript\\u003ealert(1)" in html
