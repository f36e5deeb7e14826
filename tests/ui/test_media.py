"""The Media tab of the task page: debug images (``report_image``) and matplotlib figures shown as
images through the media route (which reads only where the server may read, and only for a
signed-in viewer), media files as downloads; none of them listed in the artifacts table."""

from __future__ import annotations

import io
import time

import httpx
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from playwright.sync_api import expect

from taskmill import Task
from taskmill.core.model import ArtifactRecord, PlotRecord, TaskRecord, new_id
from taskmill.store.base import TaskStore
from tests.runs.stored import make_run
from tests.server.harness import Served
from tests.ui.conftest import Watched


def media_task() -> Task:
    """A task with a debug image (64x48), a matplotlib figure, a media file and one artifact."""
    task = Task.create(project_name="ui-tests", task_name="media")
    log = task.get_logger()
    log.report_image("samples", "gradient", iteration=3, image=np.full((48, 64, 3), 0.5))
    figure, axes = plt.subplots(figsize=(4, 3), dpi=50)
    axes.plot([0, 1, 2], [2, 0, 1])
    log.report_matplotlib_figure("curve", "fit", figure, iteration=1)
    plt.close(figure)
    log.report_media("audio", "clip", stream=io.BytesIO(b"RIFF...."), file_extension="wav")
    task.upload_artifact("summary", {"ok": True})
    return task


def test_debug_images_and_figures_show_in_the_media_tab_not_as_artifacts(
    web: Watched, store: TaskStore, ui_server: Served
) -> None:
    task = media_task()
    page = web.page
    page.goto(f"/tasks/{task.id}")
    expect(page.locator('[data-tab-target="media"]')).to_have_text("Media (3)")
    page.locator('[data-tab-target="artifacts"]').click()
    artifacts = page.locator('[data-tab-pane="artifacts"]')
    expect(artifacts).to_contain_text("summary")
    expect(artifacts).not_to_contain_text("debug/")  # the images' own artifacts are not listed
    expect(artifacts).not_to_contain_text("\\x89PNG")
    page.locator('[data-tab-target="media"]').click()
    pane = page.locator('[data-tab-pane="media"]')
    images = pane.locator("img.debug-image")
    expect(images).to_have_count(2)
    sizes = []
    for i in range(2):
        image = images.nth(i)
        image.scroll_into_view_if_needed()
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
        sizes.append(image.evaluate("img => [img.alt, img.naturalWidth, img.naturalHeight]"))
    assert sizes == [["samples · gradient", 64, 48], ["curve · fit", 200, 150]]
    src = images.first.get_attribute("src")
    assert src == f"/tasks/{task.id}/media/debug/samples/gradient/3"
    answer = httpx.get(ui_server.url + src)
    assert answer.status_code == 200 and answer.content.startswith(b"\x89PNG")
    assert (
        answer.headers["content-type"] == "image/png"
        and answer.headers["x-content-type-options"] == "nosniff"
    )
    assert "sandbox" in answer.headers["content-security-policy"]
    download = pane.locator("a[download]")
    expect(download).to_have_attribute("href", f"/tasks/{task.id}/artifacts/debug/audio/clip/0")
    web.shot("task-media")


def test_media_route_refuses_files_outside_the_artifact_store_and_unknown_names(
    store: TaskStore, ui_server: Served
) -> None:
    task = store.create_task(TaskRecord(id=new_id(), name="escape", project="ui-tests", created=time.time()))
    store.put_artifact(ArtifactRecord(task.id, "debug/x/y/0", "/etc/passwd", type="custom"))
    store.add_plot(
        task.id, PlotRecord("x", "y", 0, "image", {"artifact": "debug/x/y/0", "url": "", "format": "png"})
    )
    refused = httpx.get(f"{ui_server.url}/tasks/{task.id}/media/debug/x/y/0")
    assert refused.status_code >= 400 and b"root:" not in refused.content
    missing = httpx.get(f"{ui_server.url}/tasks/{task.id}/media/debug/none/0")
    assert missing.status_code == 404


def test_media_route_needs_a_signed_in_viewer(auth_server: Served) -> None:
    task = media_task()
    answer = httpx.get(f"{auth_server.url}/tasks/{task.id}/media/debug/samples/gradient/3")
    assert answer.status_code in (302, 303, 401, 403) and not answer.content.startswith(b"\x89PNG")


def test_the_step_panel_has_a_media_tab_for_the_steps_images(
    web: Watched, store: TaskStore, ui_server: Served
) -> None:
    task = media_task()
    run = make_run(
        store, nodes={"plot": {"name": "plot", "status": "completed", "job_id": task.id, "parents": []}}
    )
    store.update_task(task.id, parent=run.id, runtime={"pipeline_step": "plot"})
    panel = httpx.get(f"{ui_server.url}/runs/{run.id}/step", params={"name": "plot"})
    assert panel.status_code == 200 and 'data-tab-target="media"' in panel.text
    assert f'src="/tasks/{task.id}/media/debug/samples/gradient/3"' in panel.text
    overview = panel.text.split('data-tab-pane="overview"')[1].split('data-tab-pane="console"')[0]
    assert "summary" in overview and "debug/samples" not in overview  # not in its artifacts table
    page = web.page
    page.goto(f"/runs/{run.id}?step=plot&tab=media")
    image = page.locator('[data-tab-pane="media"] img.debug-image').first
    expect(image).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    assert image.evaluate("img => img.naturalWidth") == 64
