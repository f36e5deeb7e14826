"""Running pipelines of function steps: data flow, references, concurrency, failures, callbacks."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from taskmill import PipelineController, Task
from taskmill.core.pipeline import NodeStatus
from taskmill.store.base import TaskFilter, TaskStore

from . import steps_lib as lib

MODES = ["debug", "process"]


def run(p: PipelineController, mode: str, **kw: Any) -> None:
    if mode == "debug":
        p.debug_pipeline(**kw)
    else:
        p.start_locally(run_pipeline_steps_locally=True, **kw)


def statuses(p: PipelineController) -> dict[str, str]:
    return {name: node.status.value for name, node in p.get_pipeline_dag().items()}


def output(store: TaskStore, p: PipelineController, step: str, name: str) -> Any:
    node = p.get_pipeline_dag()[step]
    assert node.job_id
    task = Task.get_task(task_id=node.job_id)
    params = task.get_parameters()
    if f"return/{name}" in params:
        return params[f"return/{name}"]
    return task.artifacts[name].get()


@pytest.mark.parametrize("mode", MODES)
def test_data_flows_between_function_steps(store: TaskStore, mode: str) -> None:
    p = PipelineController(name="flow", project="tests")
    p.add_parameter("n", 6)
    p.add_function_step(
        "numbers", lib.make_numbers, function_kwargs={"n": "${pipeline.n}"}, function_return="v"
    )
    p.add_function_step(
        "halves", lib.split, function_kwargs={"values": "${numbers.v}"}, function_return=["low", "high"]
    )
    p.add_function_step(
        "low_sum", lib.total, function_kwargs={"values": "${halves.low}"}, function_return="s"
    )
    p.add_function_step(
        "high_sum", lib.total, function_kwargs={"values": "${halves.high}"}, function_return="s"
    )
    p.add_function_step(
        "both", lib.add, function_kwargs={"a": "${low_sum.s}", "b": "${high_sum.s}"}, function_return="r"
    )
    run(p, mode)
    assert p.is_successful(), statuses(p)
    assert output(store, p, "both", "r") == 15
    assert output(store, p, "halves", "high") == [3, 4, 5]
    dag = p.get_pipeline_dag()
    assert set(dag["both"].parents) == {"low_sum", "high_sum"}  # inferred from references
    # every step is a tracked child task of the run, in the pipeline's hidden project
    children = store.find_tasks(TaskFilter(parent=p.id))
    assert {c.name for c in children} == set(dag)
    assert all(c.status.value == "completed" and c.project == "tests/.pipelines/flow" for c in children)
    params = Task.get_task(task_id=dag["low_sum"].job_id).get_parameters()
    assert params["kwargs_artifacts/values"] == f"{dag['halves'].job_id}.low"
    assert params["return/s"] == 3


def test_controller_task_naming_version_and_stored_dag(store: TaskStore) -> None:
    def build() -> PipelineController:
        p = PipelineController(name="named", project="tests")
        p.add_parameter("k", 1, description="a knob")
        p.add_function_step("a", lib.add, function_kwargs={"a": "${pipeline.k}", "b": 1}, function_return="r")
        return p

    first = build()
    first.debug_pipeline()
    second = build()
    second.debug_pipeline()
    r1 = store.get_task(first.id)
    r2 = store.get_task(second.id)
    assert (r1.name, r2.name) == ("named #1", "named #2")
    assert r1.project == "tests/.pipelines/named" and r1.task_type.value == "controller"
    assert "pipeline" in r1.system_tags
    assert r1.status.value == "completed"
    assert first.version == "1.0.0" and second.version == "1.0.0"  # same definition: same version
    changed = build()
    changed.add_function_step("b", lib.add, function_kwargs={"a": 1, "b": 1})
    changed.debug_pipeline()
    assert changed.version == "1.0.1"
    assert Task.get_task(task_id=first.id).get_parameters()["Args/k"] == 1
    stored = dict(store.get_nodes(first.id))
    assert (
        stored["a"]["status"] == "completed" and stored["a"]["job_id"] == first.get_pipeline_dag()["a"].job_id
    )
    dag_json = json.loads(Task.get_task(task_id=first.id).get_configuration_object("Pipeline") or "{}")
    assert dag_json["a"]["status"] == "completed"
    projects = {p.name: p.system_tags for p in store.list_projects(include_hidden=True)}
    assert "pipeline" in projects["tests/.pipelines/named"]


def test_references_to_ids_parameters_and_artifacts(store: TaskStore) -> None:
    base = Task.create(project_name="tests", task_name="base")
    base.set_parameters({"General/lr": 0.5})
    p = PipelineController(name="refs", project="tests")
    p.add_function_step("data", lib.numpy_block, function_kwargs={"n": 4}, function_return="arr")
    p.add_function_step(
        "describe",
        lib.stamp,
        function_kwargs={
            "label": "id=${data.id} url=${data.artifacts.arr.url} size=${data.artifacts.arr.size}"
        },
        function_return="info",
    )
    p.debug_pipeline()
    assert p.is_successful(), statuses(p)
    dag = p.get_pipeline_dag()
    label = output(store, p, "describe", "info")["label"]
    art = Task.get_task(task_id=dag["data"].job_id).artifacts["arr"]
    assert label == f"id={dag['data'].job_id} url={art.url} size={art.size}"


def test_object_arguments_are_stored_on_the_run(store: TaskStore) -> None:
    p = PipelineController(name="objects", project="tests")
    p.add_function_step("s", lib.total, function_kwargs={"values": {1, 2, 3}}, function_return="t")
    p.debug_pipeline()
    assert output(store, p, "s", "t") == 6
    assert "s.values" in Task.get_task(task_id=p.id).artifacts


@pytest.mark.parametrize("mode", MODES)
def test_independent_steps_run_concurrently(store: TaskStore, mode: str) -> None:
    p = PipelineController(name="concurrent", project="tests")
    for i in range(4):
        p.add_function_step(
            f"s{i}", lib.stamp, function_kwargs={"label": str(i), "delay": 0.4}, function_return="t"
        )
    run(p, mode)
    stamps = [output(store, p, f"s{i}", "t") for i in range(4)]
    assert max(s["start"] for s in stamps) < min(s["end"] for s in stamps)  # all overlapped
    if mode == "process":
        assert len({s["pid"] for s in stamps}) == 4  # each step in its own process


@pytest.mark.parametrize("mode", MODES)
def test_failure_skips_descendants_and_fails_run(store: TaskStore, mode: str) -> None:
    p = PipelineController(name="fail", project="tests")
    p.add_function_step("bad", lib.boom, function_kwargs={"x": 7}, function_return="r")
    p.add_function_step("after", lib.add, function_kwargs={"a": "${bad.r}", "b": 1}, function_return="r")
    p.add_function_step("after2", lib.add, function_kwargs={"a": "${after.r}", "b": 1})
    p.add_function_step("other", lib.add, function_kwargs={"a": 1, "b": 1}, function_return="r")
    run(p, mode)
    assert statuses(p) == {"bad": "failed", "after": "skipped", "after2": "skipped", "other": "completed"}
    assert not p.is_successful()
    run_task = store.get_task(p.id)
    assert run_task.status.value == "failed" and "bad" in run_task.status_message
    bad_task = Task.get_task(task_id=p.get_pipeline_dag()["bad"].job_id)
    assert bad_task.status == "failed"
    log = "\n".join(bad_task.get_reported_console_output())
    assert "RuntimeError: boom 7" in log and "Traceback" in log


def test_continue_on_fail_keeps_the_run_successful(store: TaskStore) -> None:
    p = PipelineController(name="cont", project="tests")
    p.add_function_step("bad", lib.boom, continue_on_fail=True, function_return="r")
    p.add_function_step("other", lib.add, function_kwargs={"a": 1, "b": 1})
    p.debug_pipeline()
    assert store.get_task(p.id).status.value == "completed"
    assert statuses(p) == {"bad": "failed", "other": "completed"}


def test_continue_behaviour_lets_children_run(store: TaskStore) -> None:
    p = PipelineController(name="cb", project="tests")
    p.add_function_step(
        "bad",
        lib.boom,
        function_return="r",
        continue_behaviour={"continue_on_fail": True, "skip_children_on_fail": False},
    )
    p.add_function_step("child", lib.add, function_kwargs={"a": 1, "b": 1}, parents=["bad"])
    p.debug_pipeline()
    assert statuses(p) == {"bad": "failed", "child": "completed"}


def test_abort_on_failure_stops_running_steps(store: TaskStore) -> None:
    p = PipelineController(name="abortfail", project="tests", abort_on_failure=True)
    p.add_function_step("slow", lib.sleepy, function_kwargs={"seconds": 30})
    p.add_function_step("bad", lib.boom)
    p.add_function_step("later", lib.add, function_kwargs={"a": 1, "b": 1}, parents=["bad"])
    started = time.time()
    p.start_locally(run_pipeline_steps_locally=True)
    assert time.time() - started < 20  # the 30 s step was stopped early
    assert statuses(p) == {"slow": "aborted", "bad": "failed", "later": "skipped"}
    assert store.get_task(p.get_pipeline_dag()["slow"].job_id or "").status.value == "stopped"
    assert store.get_task(p.id).status.value == "failed"


def test_retries_record_every_attempt(store: TaskStore, tmp_path: Path) -> None:
    marker = str(tmp_path / "ok")
    seen: list[int] = []

    def retry(pipeline: PipelineController, node: Any, retries: int) -> bool:
        seen.append(retries)
        if retries == 1:
            Path(marker).touch()  # the third attempt succeeds
        return retries < 5

    p = PipelineController(name="retry", project="tests")
    p.add_function_step(
        "flaky",
        lib.fail_until,
        function_kwargs={"marker": marker},
        retry_on_failure=retry,
        function_return="v",
    )
    p.add_function_step("capped", lib.boom, retry_on_failure=2)
    p.debug_pipeline()
    dag = p.get_pipeline_dag()
    assert dag["flaky"].status == NodeStatus.completed and len(dag["flaky"].attempts) == 3
    assert seen == [0, 1]
    assert [store.get_task(t).status.value for t in dag["flaky"].attempts] == [
        "failed",
        "failed",
        "completed",
    ]
    assert dag["capped"].status == NodeStatus.failed and len(dag["capped"].attempts) == 3


def test_step_time_limit_and_pipeline_time_limit(store: TaskStore) -> None:
    p = PipelineController(name="limits", project="tests")
    p.add_function_step("slow", lib.sleepy, function_kwargs={"seconds": 30}, time_limit=0.5)
    p.add_function_step("quick", lib.add, function_kwargs={"a": 1, "b": 1})
    started = time.time()
    p.start_locally(run_pipeline_steps_locally=True)
    assert time.time() - started < 20  # the 30 s step was stopped early
    dag = p.get_pipeline_dag()
    assert dag["slow"].status == NodeStatus.aborted and "time limit" in dag["slow"].message

    whole = PipelineController(name="whole", project="tests")
    whole.set_pipeline_execution_time_limit(0.5 / 60)
    whole.add_function_step("slow", lib.sleepy, function_kwargs={"seconds": 30})
    whole.add_function_step("next", lib.add, function_kwargs={"a": 1, "b": 1}, parents=["slow"])
    started = time.time()
    whole.start_locally(run_pipeline_steps_locally=True)
    assert time.time() - started < 20  # the 30 s step was stopped early
    assert statuses(whole) == {"slow": "aborted", "next": "skipped"}
    assert store.get_task(whole.id).status_message == "pipeline time limit exceeded"


def test_callbacks_and_stop_from_a_callback(store: TaskStore) -> None:
    calls: list[tuple[str, str]] = []

    def pre(pipeline: PipelineController, node: Any, params: dict[str, Any]) -> bool:
        calls.append(("pre", node.name))
        return node.name != "skipme"

    def post(pipeline: PipelineController, node: Any) -> None:
        calls.append(("post", node.name))
        if node.name == "first":
            pipeline.stop()  # must not deadlock or raise (ClearML #1162)

    def changed(pipeline: PipelineController, node: Any, previous: str) -> None:
        calls.append(("status", f"{node.name}:{previous}->{node.status.value}"))

    p = PipelineController(name="callbacks", project="tests")
    p.add_function_step("skipme", lib.add, function_kwargs={"a": 1, "b": 1}, pre_execute_callback=pre)
    p.add_function_step("below", lib.add, function_kwargs={"a": 1, "b": 1}, parents=["skipme"])
    p.add_function_step(
        "first",
        lib.add,
        function_kwargs={"a": 1, "b": 1},
        post_execute_callback=post,
        status_change_callback=changed,
        pre_execute_callback=pre,
    )
    p.add_function_step("second", lib.add, function_kwargs={"a": 1, "b": 1}, parents=["first"])
    p.debug_pipeline()
    assert statuses(p) == {"skipme": "skipped", "below": "skipped", "first": "completed", "second": "skipped"}
    assert ("post", "first") in calls and ("pre", "skipme") in calls
    assert ("status", "first:pending->running") in calls and ("status", "first:running->completed") in calls


def test_pre_execute_callback_sees_and_edits_the_step_parameters_as_in_clearml(store: TaskStore) -> None:
    seen: dict[str, dict[str, Any]] = {}

    def pre(pipeline: PipelineController, node: Any, params: dict[str, Any]) -> bool:
        seen[node.name] = dict(params)
        if node.name == "second":
            params["kwargs/b"] = 100  # changed in place: the step runs with it, as in ClearML
        return True

    p = PipelineController(name="pre-edit", project="tests")
    p.add_function_step(
        "first", lib.add, function_kwargs={"a": 1, "b": 2}, function_return=["s"], pre_execute_callback=pre
    )
    p.add_function_step(
        "second",
        lib.add,
        function_kwargs={"a": "${first.s}", "b": 2},
        function_return=["s"],
        pre_execute_callback=pre,
    )
    p.debug_pipeline()
    assert seen["first"] == {"kwargs/a": 1, "kwargs/b": 2}
    assert set(seen["second"]) == {"kwargs_artifacts/a", "kwargs/b"}
    params = store.get_param_dict(p.get_pipeline_dag()["second"].job_id)
    assert params["kwargs/b"] == 100
    assert params["return/s"] == 103


def test_step_reports_to_its_task_and_pipeline(store: TaskStore) -> None:
    p = PipelineController(name="report", project="tests")
    p.add_function_step("r", lib.report, function_kwargs={"x": 3}, function_return="x")
    p.debug_pipeline()
    step = Task.get_task(task_id=p.get_pipeline_dag()["r"].job_id)
    assert step.get_reported_scalars()["quality"]["score"]["y"] == [30.0]
    assert any("sees 3" in line for line in step.get_reported_console_output())
    run_task = Task.get_task(task_id=p.id)
    assert run_task.get_reported_scalars()["pipeline"]["x"]["y"] == [3.0]
    assert not any("sees 3" in line for line in run_task.get_reported_console_output())


def test_monitors_copy_to_the_run(store: TaskStore) -> None:
    p = PipelineController(name="monitor", project="tests")
    p.add_function_step("r", lib.report, function_kwargs={"x": 2}, monitor_metrics=[("quality", "score")])
    p.add_function_step(
        "d",
        lib.numpy_block,
        function_kwargs={"n": 3},
        function_return="arr",
        monitor_artifacts=[("arr", "data")],
    )
    p.debug_pipeline()
    run_task = Task.get_task(task_id=p.id)
    assert run_task.get_reported_scalars()["quality"]["score"]["y"] == [20.0]
    assert list(run_task.artifacts["data"].get()) == [0.0, 1.0, 2.0]


def test_is_running_and_wait_while_a_run_goes(store: TaskStore) -> None:
    p = PipelineController(name="bg", project="tests")
    p.add_function_step("s", lib.sleepy, function_kwargs={"seconds": 0.5})
    runner = threading.Thread(target=p.debug_pipeline)
    runner.start()
    deadline = time.time() + 5
    while not p.is_running() and time.time() < deadline:
        time.sleep(0.01)
    assert p.is_running() and not p.is_successful()
    assert p.elapsed() >= 0
    assert p.wait(timeout=1)
    runner.join()
    assert p.is_successful()
