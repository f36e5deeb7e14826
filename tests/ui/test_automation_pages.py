"""The automation pages (``/automation``, a scheduler's, a trigger service's and an optimization's
page) over what real TaskSchedulers, TriggerSchedulers and HyperParameterOptimizers stored,
served by a real server; one pass in Chromium for script errors and the nav link."""

from __future__ import annotations

import html
import re
import time
from datetime import UTC, datetime, timedelta

import httpx
from playwright.sync_api import expect

from taskmill import Task
from taskmill.automation import GridSearch, HyperParameterOptimizer, TaskScheduler, TriggerScheduler
from taskmill.automation.clock import ManualClock
from taskmill.automation.parameters import DiscreteParameterRange, UniformIntegerParameterRange
from taskmill.runs.automation import service_view
from taskmill.server.ui.templating import timestamp
from taskmill.store.base import TaskStore
from tests.server.harness import Served
from tests.ui.conftest import Watched

START = datetime(2030, 1, 7, 0, 0, tzinfo=UTC)  #: a Monday
HOUR = 3600.0


def get(server: Served, path: str, status: int = 200) -> str:
    response = httpx.get(f"{server.url}{path}", headers={"Accept": "text/html"})
    assert response.status_code == status, response.text[:2000]
    return html.unescape(response.text)


def hourly_scheduler() -> TaskScheduler:
    """A scheduler that ran for an hour, was down for four ticks (skipped), then stepped again."""
    clock = ManualClock(START)
    first = TaskScheduler(clock=clock, missed_runs="skip")
    first.add_task(schedule_function=lambda: None, name="hourly", hour=1)
    first.run_until(clock.now() + HOUR)
    clock.set(START + timedelta(hours=5, minutes=10))
    again = TaskScheduler(clock=clock, missed_runs="skip")
    again.add_task(schedule_function=lambda: None, name="hourly", hour=1)
    again.step()
    again.join_functions()
    return again


def failure_trigger(store: TaskStore) -> tuple[TriggerScheduler, Task, Task]:
    """A single-instance trigger on failed tasks: the first failure launches a clone onto a queue
    nobody serves, the second one is skipped because that clone is still queued."""
    store.create_queue("jobs")
    base = Task.create(project_name="jobs", task_name="on-failure-report")
    triggers = TriggerScheduler()
    triggers.add_task_trigger(
        schedule_task_id=base.id,
        schedule_queue="jobs",
        name="on-fail",
        trigger_project="work",
        trigger_on_status=["failed"],
        single_instance=True,
    )
    triggers.run_until(time.time())  # writes its definitions, steps once: nothing failed yet
    failed = []
    for name in ("first-bad", "second-bad"):
        bad = Task.create(project_name="work", task_name=name)
        bad.mark_started()
        bad.mark_failed(status_reason="boom")
        triggers.step()
        failed.append(bad)
    ok = Task.create(project_name="work", task_name="fine")  # completes: not matched
    ok.mark_started()
    ok.mark_completed()
    triggers.step()
    return triggers, failed[0], failed[1]


def grid_optimization() -> HyperParameterOptimizer:
    """A grid over x in 0..4 and a discrete optimizer name; loss = (x - 2)^2, plus 1 for "sgd"."""

    def trial(task: Task, params: dict[str, object]) -> None:
        x = int(str(params["General/x"]))
        extra = 1 if params["General/opt"] == "sgd" else 0
        task.get_logger().report_scalar("loss", "val", value=(x - 2) ** 2 + extra, iteration=0)

    opt = HyperParameterOptimizer(
        None,
        trial_function=trial,
        hyper_parameters=[
            UniformIntegerParameterRange("General/x", 0, 4),
            DiscreteParameterRange("General/opt", ["adam", "sgd"]),
        ],
        objective_metric_title="loss",
        objective_metric_series="val",
        objective_metric_sign="min",
        optimizer_class=GridSearch,
        total_max_jobs=10,
        always_create_task=True,
    )
    opt.start()
    opt.wait()
    opt.stop()
    return opt


def test_schedules_show_next_run_fires_and_skip_reasons(ui_server: Served, store: TaskStore) -> None:
    scheduler = hourly_scheduler()
    sid = scheduler.task.id
    next_tick = (START + timedelta(hours=6)).timestamp()

    overview = get(ui_server, "/automation")
    assert f'href="/automation/schedules/{sid}"' in overview
    assert timestamp(next_tick) in overview  # the next run
    assert "missed_runs='skip'" in overview  # a recent event with its reason
    assert "No trigger services yet" in overview and "No optimizations yet" in overview

    page = get(ui_server, f"/automation/schedules/{sid}")
    entry = re.search(r'<tr data-entry="hourly">(.*?)</tr>', page, re.S)
    assert entry is not None
    row = entry.group(1)
    assert "missed runs: skip" in row  # from the definition written by run_until
    assert timestamp(next_tick) in row and "function " in row
    events = re.findall(r'<tr class="event-(fired|skipped)"', page)
    assert events[0] == "skipped" and "fired" in events  # newest first: the skip after the downtime
    assert "missed 4 tick(s) while not running (missed_runs='skip')" in page


def test_trigger_page_says_what_fired_and_why_the_rest_was_skipped(
    ui_server: Served, store: TaskStore
) -> None:
    triggers, first, second = failure_trigger(store)
    tid = triggers.task.id

    overview = get(ui_server, "/automation")
    assert f'href="/automation/triggers/{tid}"' in overview
    assert "single_instance: the previous run is still running" in overview

    page = get(ui_server, f"/automation/triggers/{tid}")
    entry = re.search(r'<tr data-entry="on-fail">(.*?)</tr>', page, re.S)
    assert entry is not None
    assert "tasks in project 'work'; status failed" in entry.group(1)  # what it watches
    assert "on queue 'jobs'" in entry.group(1)
    assert "never" not in entry.group(1)  # its last fire, from the events (triggers keep no times)
    rows = re.findall(r'<tr class="event-(\w+)".*?</tr>', page, re.S)
    assert rows == ["skipped", "fired"]  # newest first; the completed task matched nothing
    body = page[page.index('id="events-body"') :]
    skipped, fired = re.findall(r"<tr class=.*?</tr>", body, re.S)[:2]
    assert "second-bad" in skipped and f'href="/tasks/{second.id}"' in skipped
    assert "single_instance: the previous run is still running" in skipped
    assert "first-bad" in fired and f'href="/tasks/{first.id}"' in fired
    (launched,) = [e.task_id for e in service_view(store.get_task(tid), "trigger").events if e.task_id]
    assert f'href="/tasks/{launched}"' in fired and store.get_task(launched).status.value == "queued"
    assert f'href="/tasks/{launched}"' in entry.group(1)  # the entry's last task

    assert "is not a scheduler" in get(ui_server, f"/automation/schedules/{tid}", 400)
    assert get(ui_server, "/automation/triggers/no-such-task", 404)


def test_optimization_page_has_trials_best_first_and_charts(ui_server: Served, store: TaskStore) -> None:
    opt = grid_optimization()
    oid = opt._task.id

    overview = get(ui_server, "/automation")
    row = re.search(rf'<tr data-id="{oid}">(.*?)</tr>', overview, re.S)
    assert row is not None
    assert "loss/val (min)" in row.group(1) and "Completed" in row.group(1)
    assert "General/x=2, General/opt=adam" in row.group(1)  # the best trial's parameters

    page = get(ui_server, f"/automation/optimizations/{oid}")
    table = page[page.index('<table class="grid compact trials">') :]
    objectives = [float(v) for v in re.findall(r'<td class="num objective">([^<]+)</td>', table)]
    assert objectives == sorted(objectives) and objectives[0] == 0 and len(objectives) == 10
    assert re.search(r'class="best-trial">.*?<td class="num">2</td>\s*<td class="num">adam</td>', table, re.S)
    charts = [c.strip() for c in re.findall(r"<figcaption>([^<]+)", page)]
    assert charts == ["loss vs General/x", "loss vs General/opt", "loss by trial"]
    x_chart = page[page.index("loss vs General/x") : page.index("loss vs General/opt")]
    assert x_chart.count('<circle class="mark s0"') == 10  # every trial
    assert x_chart.count('<circle class="mark s1"') == 1  # the best one on top
    assert "trials @ 2: 0" in x_chart
    opt_chart = page[page.index("loss vs General/opt") : page.index("loss by trial")]
    assert "adam: 0" in opt_chart and "sgd: 1" in opt_chart  # best objective per value, as bars
    assert "optimizer_class" in page and "GridSearch" in page  # the setup

    assert "is not an optimization" in get(
        ui_server, f"/automation/optimizations/{opt.get_top_experiments(1)[0].id}", 400
    )


def test_pages_render_in_chromium_from_the_nav(web: Watched, store: TaskStore) -> None:
    scheduler = hourly_scheduler()
    triggers, _, _ = failure_trigger(store)
    opt = grid_optimization()
    page = web.page

    page.goto("/pipelines")
    page.locator(".mainnav a", has_text="Automation").click()
    expect(page.locator("h1")).to_have_text("Automation")
    expect(page.locator(".mainnav a.active")).to_have_text("Automation")
    expect(page.locator("#schedules tbody tr")).to_have_count(1)
    expect(page.locator("#triggers tbody tr")).to_have_count(1)
    expect(page.locator("#optimizations tbody tr")).to_have_count(1)
    web.shot("automation")

    page.locator(f'a[href="/automation/triggers/{triggers.task.id}"]').click()
    expect(page.locator("#events-body tr")).to_have_count(2)
    page.locator("#events .chip", has_text="Skipped").click()
    expect(page.locator("#events-body tr:visible")).to_have_count(1)
    expect(page.locator("#events-body tr:visible .reason")).to_contain_text("single_instance")
    web.shot("automation-trigger")

    page.goto(f"/automation/schedules/{scheduler.task.id}")
    next_run = page.locator('tr[data-entry="hourly"] .next-run')
    expect(next_run).to_contain_text(timestamp((START + timedelta(hours=6)).timestamp()))
    web.shot("automation-schedule")

    page.goto(f"/automation/optimizations/{opt._task.id}")
    expect(page.locator("#charts figure.chart")).to_have_count(3)
    expect(page.locator(".trials tbody tr")).to_have_count(10)
    web.shot("automation-optimization")


def test_pages_need_signing_in_when_the_server_has_auth(auth_server: Served) -> None:
    response = httpx.get(f"{auth_server.url}/automation", headers={"Accept": "text/html"})
    assert response.status_code == 303 and response.headers["location"] == "/signin?next=/automation"
