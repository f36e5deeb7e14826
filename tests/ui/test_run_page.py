"""The run page of big and retried runs, in real Chromium over a real server: it opens fitted and
centred on what runs, lists and filters steps, answers deep links to a step's tab, and shows wait
and run times apart, every attempt of a step and the console's system lines."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from playwright.sync_api import expect

from taskmill.core.states import TaskStatus
from taskmill.runs import commands
from taskmill.store.base import TaskFilter, TaskStore
from tests.ui.conftest import Watched, pipeline_env
from tests.ui.resources import fan, training


def in_view(web: Watched, selector: str) -> bool:
    """True when the element's box lies inside the DAG viewport's visible area."""
    return bool(
        web.page.evaluate(
            """(sel) => {
              const v = document.getElementById('dag-viewport').getBoundingClientRect();
              const r = document.querySelector(sel).getBoundingClientRect();
              return r.left >= v.left && r.right <= v.right && r.top >= v.top && r.bottom <= v.bottom;
            }""",
            selector,
        )
    )


def test_a_200_step_run_opens_grouped_fitted_and_centred_on_what_runs(web: Watched, store: TaskStore) -> None:
    pipe = fan(200)
    pipe.debug_pipeline(progress=False)
    member = dict(store.get_nodes(pipe.id))["train_150"]
    store.put_nodes(pipe.id, [("train_150", {**member, "status": "running", "job_ended": None})])
    page = web.page

    page.goto(f"/runs/{pipe.id}")  # grouped by default: 3 nodes that fit the view
    page.wait_for_selector("body[data-ready='1']")
    expect(page.locator("g.node")).to_have_count(3)
    expect(page.locator("#group-toggle")).to_be_checked()
    for node in ("root", "join"):
        assert in_view(web, f'g.node[data-id="{node}"]')
    # the run has ended, so its step still recorded as running shows as aborted (and is the focus)
    expect(page.locator("g.node.kind-group")).to_have_attribute("data-status", "aborted")
    web.shot("run-200-steps-grouped")

    page.goto(f"/runs/{pipe.id}?group=0")  # every step drawn: the running one is in the middle
    page.wait_for_selector("body[data-ready='1']")
    expect(page.locator("g.node")).to_have_count(202)
    assert in_view(web, 'g.node[data-id="train_150"]')
    assert float(page.evaluate("() => document.getElementById('dag').dataset.zoom")) >= 0.6
    web.shot("run-200-steps-centred-on-running")

    page.locator("#group-toggle").check()  # the grouped view is fitted again
    expect(page.locator("g.node")).to_have_count(3)
    assert in_view(web, 'g.node[data-id="root"]') and in_view(web, 'g.node[data-id="join"]')


def test_the_step_list_filters_by_status_and_searches(web: Watched, store: TaskStore) -> None:
    pipe = fan(200)
    pipe.debug_pipeline(progress=False)
    member = dict(store.get_nodes(pipe.id))["train_42"]
    store.put_nodes(pipe.id, [("train_42", {**member, "status": "failed", "message": "set by the test"})])
    page = web.page
    page.goto(f"/runs/{pipe.id}")
    page.wait_for_selector("body[data-ready='1']")
    rows = page.locator("#step-rows .step-row")
    expect(page.locator("#steps-box")).to_have_attribute("data-shown", "202")
    expect(page.locator("#step-filter option[value='failed']")).to_have_text("Failed (1)")
    expect(rows.nth(0)).to_have_attribute("data-step", "train_42")  # what needs a look comes first
    expect(rows.nth(1)).to_have_attribute("data-step", "join")
    expect(rows.nth(3)).to_have_attribute("data-step", "train_0")
    expect(rows.nth(5)).to_have_attribute("data-step", "train_2")  # numbers in order, not train_10

    page.locator("#step-search").fill("train_15")
    expect(rows).to_have_count(11)  # train_15 and train_150 .. train_159
    page.locator("#step-search").fill("")
    page.locator("#step-filter").select_option("failed")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-step", "train_42")
    rows.first.click()  # a step hidden inside its group opens all the same
    expect(page.locator("#step-panel .step-title")).to_have_text("train_42")
    expect(page.locator("#step-panel .problem")).to_have_text("set by the test")
    assert "step=train_42" in page.url
    expect(page.locator("g.node.kind-group")).to_have_class("node kind-group st-failed selected")
    page.locator("#step-panel [data-back-to-run]").click()
    expect(page.locator("#steps-box")).to_be_visible()
    assert "step=" not in page.url


def test_a_deep_link_opens_a_step_on_its_tab(web: Watched, store: TaskStore) -> None:
    pipe = training()
    pipe.debug_pipeline(progress=False)
    page = web.page
    page.goto(f"/runs/{pipe.id}?step=train&tab=console")
    panel = page.locator("#step-panel")
    expect(panel.locator(".step-title")).to_have_text("train")
    expect(panel.locator('[data-tab-pane="console"]')).to_be_visible()
    console = panel.locator("pre[data-console]")
    expect(console).to_contain_text("trained on 4 numbers")
    system = console.locator("[data-system]")
    expect(system.first).to_contain_text("[system] started")
    expect(console).to_contain_text("[system] input xs loaded from output xs of load")
    expect(console).to_contain_text("[system] ended completed after running")
    assert console.locator("[data-system]").last.inner_text().startswith("[system] ended completed")
    expect(page.locator('g.node[data-id="train"]')).to_have_class("node kind-step st-completed selected")
    web.shot("run-deep-link-console")
    panel.locator('[data-tab-target="cache"]').click()  # the address follows the panel
    assert page.url.endswith("?step=train&tab=cache")
    page.goto(f"/runs/{pipe.id}?step=load")  # load stored its output
    expect(page.locator("#step-panel pre[data-console]")).to_contain_text("[system] output xs stored (json")


def test_wait_and_run_are_shown_apart_and_agree_everywhere(web: Watched, store: TaskStore) -> None:
    pipe = training()
    pipe.debug_pipeline(progress=False)
    task = next(
        t for t in store.find_tasks(TaskFilter(parent=pipe.id)) if t.runtime["pipeline_step"] == "train"
    )
    assert task.started is not None and task.completed is not None
    # the controller launched the step 5 s before its task started (waiting for a slot or an agent)
    node = dict(store.get_nodes(pipe.id))["train"]
    store.put_nodes(pipe.id, [("train", {**node, "job_started": task.started - 5.0})])
    ran = task.completed - task.started
    ran_text = f"{ran:.1f}s"
    page = web.page
    page.goto(f"/runs/{pipe.id}")
    sub = page.locator('g.node[data-id="train"] .node-sub')
    expect(sub).to_have_text(f"Completed · {ran_text} · wait 5.0s")
    page.locator('g.node[data-id="train"]').click()
    panel = page.locator("#step-panel")
    expect(panel.locator("[data-waited]")).to_contain_text("5.0s")
    expect(panel.locator("[data-ran]")).to_contain_text(ran_text)
    timeline = page.request.get(f"/runs/{pipe.id}/timeline.json").json()
    row = next(r for r in timeline["rows"] if r["name"] == "train")
    assert row["started"] == task.started and row["ended"] == task.completed
    assert abs(row["queued"] - (task.started - 5.0)) < 1e-6
    page.get_by_role("tab", name="Timeline").click()
    expect(page.locator('.gantt-row[data-step="train"] .gantt-dur')).to_have_text(ran_text)
    expect(page.locator('.gantt-row[data-step="train"] .gantt-wait')).to_have_count(1)


#: A pipeline whose step ``flaky`` fails until a marker file exists (the first argument's folder).
FLAKY_SCRIPT = """
import sys
from pathlib import Path

from taskmill import PipelineController


def prepare() -> int:
    return 1


def flaky(x: int, gate: str) -> int:
    if not Path(gate, "ok").exists():
        raise RuntimeError("the marker is missing")
    print("flaky passed", flush=True)
    return x + 1


if __name__ == "__main__":
    pipe = PipelineController(name="flaky", project="ui-tests")
    pipe.add_parameter("gate", sys.argv[1] if len(sys.argv) > 1 else "")
    pipe.add_function_step("prepare", prepare, function_return="x")
    pipe.add_function_step(
        "flaky", flaky, function_kwargs={"x": "${prepare.x}", "gate": "${pipeline.gate}"}, function_return="y"
    )
    pipe.debug_pipeline(progress=False)
"""


def test_a_failed_attempt_stays_visible_after_a_resume(
    web: Watched, store: TaskStore, tm_home: Path, tmp_path: Path
) -> None:
    script = tmp_path / "flaky.py"
    script.write_text(FLAKY_SCRIPT)
    gate = tmp_path / "gate"
    gate.mkdir()
    env = pipeline_env(tm_home)
    first = subprocess.run(
        [sys.executable, str(script), str(gate)], env=env, cwd=tmp_path, capture_output=True, timeout=120
    )
    (run,) = commands.list_runs(store, "ui-tests", "flaky")
    assert run.status == TaskStatus.failed, first.stdout + first.stderr
    page = web.page
    page.goto(f"/runs/{run.id}?step=flaky")
    expect(page.locator("#run-message")).to_be_visible()
    expect(page.locator("#step-panel .problem")).to_contain_text("the marker is missing")
    expect(page.locator("#step-panel tr[data-attempt]")).to_have_count(1)

    (gate / "ok").touch()
    assert commands.resume_run(store, run.id, env=env) == 0
    assert store.get_task(run.id).status == TaskStatus.completed
    page.goto(f"/runs/{run.id}?step=flaky")
    attempts = page.locator("#step-panel tr[data-attempt]")
    expect(attempts).to_have_count(2)
    expect(attempts.nth(0)).to_contain_text("Failed")
    expect(page.locator("#step-panel .attempt-note")).to_contain_text("the marker is missing")
    expect(attempts.nth(1)).to_contain_text("Completed")
    expect(attempts.nth(1)).to_have_class("current")
    expect(page.locator("#step-panel .step-badges")).to_contain_text("2 attempts")
    page.goto(f"/runs/{run.id}?step=prepare")  # kept from the first attempt: a note, not an error
    expect(page.locator("#step-panel .note")).to_contain_text("kept from the previous attempt")
    expect(page.locator("#step-panel .problem")).to_have_count(0)
    web.shot("run-attempts-after-resume")
