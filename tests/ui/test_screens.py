"""The screenshots the documentation shows (docs/img/ui/), taken by real browser tests on small,
fixed data at a fixed viewport, so they cannot drift from the UI. Each test still asserts what
its pictures show. Images go to test-output/ui/docs/; ``./scripts/docs screenshots`` sets
TASKMILL_SCREENSHOTS=docs/img/ui to refresh the committed copies (tests/docs/test_screenshots.py
maps every image to the test here that takes it)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from taskmill.core.model import Param, ScalarPoint, TaskRecord, new_id
from taskmill.core.states import TaskStatus, TaskTypes
from taskmill.runs import commands
from taskmill.store.base import TaskStore
from tests.server.harness import Served
from tests.ui.conftest import Watched, apng, open_page, pipeline_env, save_doc_png, wait_until
from tests.ui.resources import fan, training

#: Smaller than the other tests' viewport: the pictures stay legible in the docs' column and small.
DOCS_VIEWPORT = {"width": 1200, "height": 720}

#: Three steps that each wait for a marker file named after them (the test releases them in turn).
STAGED_SCRIPT = """
import os
import time
from pathlib import Path

from taskmill import PipelineController


def step(name: str, epochs: int) -> str:
    # the marker folder comes from the environment: a parameter would show its temporary path
    print(f"{name}: waiting for its marker", flush=True)
    while not Path(os.environ["DOCS_GATE"], name).exists():
        time.sleep(0.05)
    print(f"{name}: done", flush=True)
    return name


if __name__ == "__main__":
    pipe = PipelineController(name="nightly", project="docs")
    pipe.add_parameter("epochs", 3, description="passes over the data")
    parent = None
    for name in ("prepare", "train", "evaluate"):
        pipe.add_function_step(
            name, step, function_kwargs={"name": name, "epochs": "${pipeline.epochs}"},
            function_return="out", parents=[parent] if parent else None,
        )
        parent = name
    pipe.start_locally(run_pipeline_steps_locally=True)
"""


@pytest.fixture
def screen(browser: Any, ui_server: Served) -> Iterator[Watched]:
    """A page at the docs' viewport; fails on script errors or alert boxes like ``web``."""
    watched = open_page(browser, ui_server.url)
    watched.page.set_viewport_size(DOCS_VIEWPORT)
    yield watched
    watched.page.context.close()
    assert not watched.errors, f"script errors on the page: {watched.errors}"
    assert not watched.alerts, f"alert boxes opened: {watched.alerts}"


def test_pipelines_list(screen: Watched) -> None:
    training(rate=0.1).debug_pipeline(progress=False)
    training(rate=0.2, fail=True).debug_pipeline(progress=False)
    fan(3).debug_pipeline(progress=False)
    page = screen.page
    page.goto("/pipelines")
    card = page.locator(".pipeline-card", has_text="training")
    expect(card).to_contain_text("1 completed")
    expect(card).to_contain_text("1 failed")
    expect(page.locator(".pipeline-card", has_text="fan3")).to_contain_text("1 completed")
    # the top of the page: the cards, without the empty space below them
    screen.doc_shot("pipelines", clip={"x": 0, "y": 0, "width": DOCS_VIEWPORT["width"], "height": 320})


def test_task_scalars(screen: Watched, store: TaskStore) -> None:
    run = training(rate=0.1)
    run.debug_pipeline(progress=False)
    train_task = str(dict(store.get_nodes(run.id))["train"]["job_id"])
    page = screen.page
    page.goto(f"/tasks/{train_task}")
    page.locator('[data-tab-target="scalars"]').click()
    expect(page.locator(".chart figcaption")).to_have_text("loss")
    expect(page.locator(".chart polyline")).to_have_count(2)  # train and validation
    screen.doc_shot("task-scalars")


def test_tasks_table(screen: Watched, store: TaskStore) -> None:
    start = time.time() - 3600
    with store.batch():
        for i in range(6):
            task = TaskRecord(
                id=new_id(),
                name=f"resnet_{i}",
                project="vision",
                task_type=TaskTypes.training,
                status=TaskStatus.failed if i == 4 else TaskStatus.completed,
                user="ada",
                tags=("best",) if i == 2 else (),
                created=start + 60 * i,
                started=start + 60 * i,
                completed=start + 60 * i + 45,
                last_update=start + 60 * i + 45,
            )
            store.create_task(task)
            store.set_params(task.id, [Param("General", "lr", round(0.001 * (i + 1), 3))])
            store.add_scalars(
                task.id,
                [ScalarPoint("loss", "train", it, round(1.0 / (it + 2 + i), 4)) for it in range(3)],
            )
    page = screen.page
    page.goto("/tasks?project=vision&cols=General/lr,metric:loss/train")
    rows = page.locator("#tasks-table tbody tr")
    expect(rows).to_have_count(6)
    expect(rows.first).to_contain_text("resnet_5")  # newest update first
    expect(page.locator("#tasks-table thead")).to_contain_text("lr")
    screen.doc_shot("tasks")


def test_live_run_step_by_step(screen: Watched, tm_home: Path, store: TaskStore, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    gate.mkdir()
    script = tmp_path / "nightly.py"
    script.write_text(STAGED_SCRIPT)
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        env={**pipeline_env(tm_home), "DOCS_GATE": str(gate)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: _run_id(store) is not None, 60, "the nightly run to start")
        run_id = _run_id(store)
        page = screen.page
        page.goto(f"/runs/{run_id}")
        expect(page.locator("body[data-live='1']")).to_have_count(1)  # live updates, no reloads

        def node(name: str) -> Any:
            return page.locator(f'g.node[data-id="{name}"]')

        steps = ("prepare", "train", "evaluate")
        expect(node("prepare")).to_have_attribute("data-status", "running")
        strip = _graph_strip(page, steps)  # one rectangle for all frames: the APNG needs one size
        frames = []
        for i, (name, picture) in enumerate(
            zip(steps, ("run-live-1", "run-live-2", "run-live-3"), strict=True)
        ):
            expect(node(name)).to_have_attribute("data-status", "running")
            for later in steps[i + 1 :]:
                expect(node(later)).to_have_attribute("data-status", "pending")
            expect(page.locator("#run-progress .progress-text")).to_have_text(f"{i}/3")
            if name == "train":
                expect(page.locator("#run-info-panel")).to_contain_text("passes over the data")
                screen.doc_shot("run-live")  # the whole page, mid-run
            frames.append(screen.doc_shot(picture, clip=strip))
            (gate / name).touch()
        for name in steps:
            expect(node(name)).to_have_attribute("data-status", "completed")
        expect(page.locator("#run-status .badge")).to_contain_text("Completed")
        expect(page.locator("#run-progress .progress-text")).to_have_text("3/3")
        frames.append(screen.doc_shot("run-live-4", clip=strip))
        save_doc_png("run-live-animated", apng(frames, [1200, 1200, 1200, 2500]))
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def _graph_strip(page: Any, steps: tuple[str, ...]) -> dict[str, float]:
    """The run's graph, from its top to just below the nodes (a small picture per frame)."""
    dag = page.locator("#dag").bounding_box()
    bottom = max(
        box["y"] + box["height"]
        for box in (page.locator(f'g.node[data-id="{name}"]').bounding_box() for name in steps)
    )
    x, y = round(dag["x"]), round(dag["y"])
    return {"x": x, "y": y, "width": round(dag["width"]), "height": round(bottom) + 18 - y}


def _run_id(store: TaskStore) -> str | None:
    """The nightly run once its first step runs."""
    try:
        runs = list(commands.list_runs(store, "docs", "nightly"))
    except Exception:  # no run yet
        return None
    for run in runs:
        if dict(store.get_nodes(run.id)).get("prepare", {}).get("status") == "running":
            return str(run.id)
    return None
