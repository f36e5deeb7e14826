"""TriggerScheduler on a real SQLite store: real dataset versions, models and task changes."""

from __future__ import annotations

import subprocess
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from taskmill import Dataset, OutputModel, Task
from taskmill.automation import TriggerScheduler
from taskmill.store.base import TaskStore
from tests.automation.conftest import wait_for


def new_version(folder: Path, project: str = "data", name: str = "raw", finalize: bool = True) -> Dataset:
    """A dataset version with one new file (finalized unless asked not to)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}.csv"
    path.write_text("a,b\n1,2\n")
    parents = [d["id"] for d in Dataset.list_datasets(dataset_project=project, partial_name=name)][:1]
    version = Dataset.create(dataset_name=name, dataset_project=project, parent_datasets=parents or None)
    version.add_files(str(path))
    version.upload()
    if finalize:
        version.finalize()
    return version


def weights(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}.bin"
    path.write_bytes(b"\x00weights")
    return path


def test_a_new_dataset_version_launches_a_task_with_its_id(
    tmp_path: Path, store: TaskStore, echo: Task, agent: Callable[..., subprocess.Popen[str]]
) -> None:
    agent("jobs", services=2)
    triggers = TriggerScheduler()
    triggers.add_dataset_trigger(
        schedule_task_id=echo,
        schedule_queue="jobs",
        trigger_project="data",
        name="retrain",
        task_parameters={"Args/source": "${dataset.id}"},
    )
    assert triggers.step() == []
    version = new_version(tmp_path / "files")
    (fire,) = triggers.step()
    run = Task.get_task(task_id=fire.task_id)
    run.wait_for_status(timeout=30)
    assert run.get_parameter("Args/source") == version.id
    assert f"source={version.id}" in run.get_reported_console_output()
    assert run.get_tags() == ["retrain"]
    assert run.get_runtime_properties()["_automation/launched_by"] == {
        "service": triggers.task.id,
        "job": "retrain",
        "kind": "dataset",
        "object": version.id,
    }
    assert triggers.step() == []


def test_only_versions_finalized_after_the_trigger_fire(tmp_path: Path, store: TaskStore) -> None:
    new_version(tmp_path / "files")
    draft = new_version(tmp_path / "files", finalize=False)
    got: list[str] = []
    triggers = TriggerScheduler()
    triggers.add_dataset_trigger(schedule_function=got.append, trigger_project="data", trigger_name="^raw$")
    assert triggers.step() == []
    draft.finalize()
    new_version(tmp_path / "other", project="elsewhere")
    new_version(tmp_path / "files", name="raw-images")
    (fire,) = triggers.step()
    triggers.join_functions()
    assert got == [draft.id] and fire.key == draft.id


def test_a_restarted_trigger_does_not_fire_twice(tmp_path: Path, store: TaskStore) -> None:
    got: list[str] = []

    def make() -> TriggerScheduler:
        triggers = TriggerScheduler()
        triggers.add_dataset_trigger(schedule_function=got.append, trigger_project="data", name="watch")
        return triggers

    first = make()
    first.step()
    seen = new_version(tmp_path / "files")
    first.step()
    again = make()
    assert again.task.id == first.task.id
    assert again.step() == []
    while_down = new_version(tmp_path / "files")  # changes made while it was down fire once
    assert [f.key for f in again.step()] == [while_down.id]
    again.join_functions()
    first.join_functions()
    assert got == [seen.id, while_down.id]


def test_models_fire_when_published_or_tagged(tmp_path: Path, store: TaskStore) -> None:
    trainer = Task.create(project_name="train", task_name="fit")
    old = OutputModel(task=trainer, name="net")
    old.update_weights(str(weights(tmp_path)))
    old.publish()  # published before the trigger: not an event
    published: list[str] = []
    tagged: list[str] = []
    triggers = TriggerScheduler()
    triggers.add_model_trigger(
        schedule_function=published.append, trigger_project="train", trigger_on_publish=True
    )
    triggers.add_model_trigger(schedule_function=tagged.append, trigger_on_tags=["prod"], name="prod")
    assert triggers.step() == []

    candidate = OutputModel(task=trainer, name="net")
    candidate.update_weights(str(weights(tmp_path)))
    assert triggers.step() == []
    candidate.publish()
    other = OutputModel(task=Task.create(project_name="serve", task_name="pack"), name="net", tags=["prod"])
    other.update_weights(str(weights(tmp_path)))
    fired = triggers.step()
    triggers.join_functions()
    assert published == [candidate.id] and tagged == [other.id]
    assert len(fired) == 2 and triggers.step() == []


def test_tasks_fire_on_status(store: TaskStore) -> None:
    got: list[str] = []
    triggers = TriggerScheduler()
    triggers.add_task_trigger(
        schedule_function=got.append, trigger_project="work", trigger_on_status=["failed"]
    )
    triggers.step()
    ok = Task.create(project_name="work", task_name="ok")
    bad = Task.create(project_name="work", task_name="bad")
    ok.mark_started()
    ok.mark_completed()
    bad.mark_started()
    bad.mark_failed(status_reason="boom")
    assert [f.key for f in triggers.step()] == [bad.id]
    triggers.join_functions()
    assert got == [bad.id]


def test_a_metric_crossing_a_threshold_fires_once(store: TaskStore) -> None:
    got: list[str] = []
    triggers = TriggerScheduler()
    triggers.add_task_trigger(
        schedule_function=got.append,
        trigger_project="work",
        trigger_on_metric="val",
        trigger_on_variant="loss",
        trigger_on_threshold=0.5,
        trigger_on_sign="min",
    )
    triggers.step()
    run = Task.create(project_name="work", task_name="fit")
    run.mark_started()
    logger = run.get_logger()
    logger.report_scalar("val", "loss", 0.9, iteration=0)
    run.flush()
    assert triggers.step() == []
    logger.report_scalar("val", "loss", 0.4, iteration=1)
    run.flush()
    assert [f.key for f in triggers.step()] == [run.id]
    logger.report_scalar("val", "loss", 0.3, iteration=2)
    run.flush()
    assert triggers.step() == []
    triggers.join_functions()
    assert got == [run.id]


def test_a_task_trigger_ignores_what_it_launched(store: TaskStore, echo: Task) -> None:
    store.create_queue("jobs")
    triggers = TriggerScheduler()
    triggers.add_task_trigger(
        schedule_task_id=echo, schedule_queue="jobs", trigger_project="jobs", trigger_on_status=["completed"]
    )
    triggers.step()
    done = Task.create(project_name="jobs", task_name="upstream")
    done.mark_started()
    done.mark_completed()
    (fire,) = triggers.step()
    launched = Task.get_task(task_id=fire.task_id)
    assert launched.project == "jobs"
    launched.mark_started(force=True)
    launched.mark_completed()
    assert triggers.step() == []


def test_single_instance_skips_while_the_last_launch_waits(
    tmp_path: Path, store: TaskStore, echo: Task
) -> None:
    store.create_queue("jobs")
    triggers = TriggerScheduler()
    triggers.add_dataset_trigger(
        schedule_task_id=echo, schedule_queue="jobs", single_instance=True, add_tag="fresh"
    )
    triggers.step()
    new_version(tmp_path / "files")
    (first,) = triggers.step()
    assert Task.get_task(task_id=first.task_id).get_tags() == ["fresh"]
    new_version(tmp_path / "files")
    (second,) = triggers.step()
    assert not second.launched and "still running" in second.skipped
    actions = [e["action"] for e in triggers.get_state()["events"]]
    assert actions == ["fired", "skipped"]


def test_start_wakes_on_a_status_change_not_on_the_poll(tmp_path: Path, store: TaskStore) -> None:
    got: list[str] = []
    triggers = TriggerScheduler(pooling_frequency_minutes=30)
    triggers.add_dataset_trigger(schedule_function=got.append, trigger_project="data")
    loop = threading.Thread(target=triggers.start)
    loop.start()
    try:
        wait_for(lambda: "lease" in triggers.get_state(), 10, "the trigger loop")
        version = new_version(tmp_path / "files")
        wait_for(lambda: got == [version.id], 5, "the trigger to fire")
    finally:
        triggers.stop()
        loop.join(10)
    assert not loop.is_alive()
    assert set(triggers.task.get_configuration_objects()) >= {"datasets", "models", "tasks"}


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"trigger_name": "("}, "not a valid regular expression"),
        (
            {"trigger_on_metric": "val"},
            "needs trigger_on_metric, trigger_on_variant and trigger_on_threshold",
        ),
        ({"trigger_on_status": ["done"]}, "unknown task status"),
        (
            {
                "trigger_on_sign": "up",
                "trigger_on_metric": "a",
                "trigger_on_variant": "b",
                "trigger_on_threshold": 1,
            },
            "min",
        ),
    ],
)
def test_bad_task_triggers_are_refused(store: TaskStore, kw: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TriggerScheduler().add_task_trigger(schedule_function=print, **kw)  # type: ignore[arg-type]


def test_get_triggers_lists_them_by_name(store: TaskStore, echo: Task) -> None:
    triggers = TriggerScheduler()
    triggers.add_dataset_trigger(schedule_function=print, name="a")
    triggers.add_model_trigger(schedule_task_id=echo.id, schedule_queue="jobs")
    triggers.add_dataset_trigger(schedule_function=print, name="a", trigger_project="p")  # replaces "a"
    assert [(t.kind, t.name) for t in triggers.get_triggers()] == [
        ("model", f"model:{echo.id}"),
        ("dataset", "a"),
    ]
    assert triggers.get_triggers()[1].project == "p"
