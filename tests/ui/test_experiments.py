"""The experiments table (/tasks) and the projects page in a browser: list, filter, sort,
paginate, a custom column, a bulk archive."""

from __future__ import annotations

import time

from playwright.sync_api import expect

from taskmill.core.model import Param, ScalarPoint, TaskRecord, new_id
from taskmill.core.states import TaskStatus, TaskTypes
from taskmill.server.ui.experiments import PAGE_SIZE
from taskmill.store.base import TaskStore
from tests.ui.conftest import Watched


def _seed(store: TaskStore) -> list[TaskRecord]:
    now = time.time()
    made = []
    with store.batch():
        for i in range(PAGE_SIZE + 10):
            project = "vision" if i % 2 else "nlp"
            task = TaskRecord(
                id=new_id(),
                name=f"exp-{i:03d}",
                project=project,
                task_type=TaskTypes.testing if i % 5 == 0 else TaskTypes.training,
                status=TaskStatus.completed if i % 3 else TaskStatus.failed,
                user="ada",
                tags=("best",) if i == 7 else (),
                created=now - 1000 + i,
                started=now - 1000 + i,
                completed=now - 990 + i,
                last_update=now - 1000 + i,
            )
            store.create_task(task)
            store.set_params(task.id, [Param("General", "lr", 0.001 * i)])
            store.add_scalars(
                task.id, [ScalarPoint("loss", "train", it, 1.0 / (it + 1 + i)) for it in range(3)]
            )
            made.append(task)
    return made


def test_tasks_table_filter_sort_page_columns_and_bulk_archive(web: Watched, store: TaskStore) -> None:
    _seed(store)
    page = web.page
    page.goto("/projects")
    expect(page.locator("#projects-table tr", has_text="vision")).to_contain_text("30")

    page.goto("/tasks")
    rows = page.locator("#tasks-table tbody tr")
    expect(rows).to_have_count(PAGE_SIZE)
    expect(rows.first).to_contain_text("exp-059")  # newest update first
    page.locator("#next-page").click()
    expect(rows).to_have_count(10)
    assert "page=1" in page.url

    page.goto("/tasks")
    page.get_by_label("Project").select_option("vision")
    page.get_by_label("Status").select_option("failed")
    page.locator("#apply-filters").click()
    expect(rows).to_have_count(10)  # odd i and i % 3 == 0: 3, 9, ..., 57
    assert "project=vision" in page.url and "status=failed" in page.url
    page.get_by_label("Name contains").fill("exp-00")
    page.locator("#apply-filters").click()
    expect(rows).to_have_count(2)  # exp-003, exp-009

    page.goto("/tasks?tag=best")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("exp-007")

    page.goto("/tasks?sort=name")
    expect(rows.first).to_contain_text("exp-000")
    page.locator("th a", has_text="Name").click()
    expect(rows.first).to_contain_text("exp-059")

    page.goto("/tasks?name=exp-004&cols=General/lr,metric:loss/train")
    expect(page.locator("th.custom-col")).to_have_count(2)
    cells = rows.first.locator("td.custom-col")
    expect(cells.nth(0)).to_have_text("0.004")
    expect(cells.nth(1)).to_have_text(f"{1.0 / 7:.6g}")
    web.shot("experiments")

    page.goto("/tasks?name=exp-01")
    expect(rows).to_have_count(10)
    for box in rows.locator('input[name="task"]').all()[:3]:
        box.check()
    page.get_by_label("Bulk action").select_option("archive")
    page.locator("#bulk-apply").click()
    expect(page.locator("body")).to_contain_text("archive: 3 of 3 tasks")
    expect(rows).to_have_count(7)
    page.goto("/tasks?name=exp-01&archived=1")
    expect(rows).to_have_count(10)
    expect(page.locator("#tasks-table .tag", has_text="archived")).to_have_count(3)
