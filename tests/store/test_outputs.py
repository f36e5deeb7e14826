"""Task outputs in the SQL store: artifact order, appended records, log sequence numbers, moved
model records (also through the HTTP store and a real server)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from taskmill.core.model import (
    ArtifactRecord,
    LogLine,
    ModelRecord,
    PlotRecord,
    ScalarPoint,
    TaskRecord,
    new_id,
)
from taskmill.errors import NotFoundError, TaskNotFoundError
from taskmill.store.base import TaskStore
from taskmill.store.factory import open_store
from taskmill.store.sql.store import SqlTaskStore
from tests.store.conftest import new_task


def _artifact(task_id: str, name: str, uri: str) -> ArtifactRecord:
    return ArtifactRecord(task_id, name, uri, "json", "json", 1, "sha256:0", timestamp=5.0)


def test_an_artifact_put_again_keeps_its_place(sql_store: SqlTaskStore) -> None:
    task = new_task(sql_store)
    for name in ("c", "a", "b"):
        sql_store.put_artifact(_artifact(task.id, name, f"/{name}"))
    sql_store.put_artifact(_artifact(task.id, "c", "/c2"))
    arts = sql_store.get_artifacts(task.id)
    assert [(a.name, a.uri) for a in arts] == [("c", "/c2"), ("a", "/a"), ("b", "/b")]
    assert arts[0] == _artifact(task.id, "c", "/c2")  # every field read back


def test_models_and_plots_get_an_id_and_a_time_when_missing(sql_store: SqlTaskStore) -> None:
    task = new_task(sql_store)
    sql_store.add_model(ModelRecord(task.id, "", "m", "/m.pt"))
    sql_store.add_plot(task.id, PlotRecord("p", "s", 1, "scatter", {"x": [1]}))
    (model,) = sql_store.get_models(task.id)
    assert len(model.id) == 32 and model.timestamp > 0
    (plot,) = sql_store.get_plots(task.id)
    assert plot.data == {"x": [1]} and plot.timestamp > 0


def test_scalars_sort_by_series_and_iteration(sql_store: SqlTaskStore) -> None:
    task = new_task(sql_store)
    sql_store.add_scalars(task.id, [ScalarPoint("loss", "val", 1, 0.5), ScalarPoint("loss", "train", 2, 0.1)])
    sql_store.add_scalars(task.id, [ScalarPoint("loss", "train", 1, 0.2)])
    got = [(p.series, p.iteration) for p in sql_store.get_scalars(task.id)]
    assert got == [("train", 1), ("train", 2), ("val", 1)]


def test_log_numbers_continue_across_appends_and_mark_the_task(sql_store: SqlTaskStore) -> None:
    task = new_task(sql_store)
    assert sql_store.append_log(task.id, [LogLine("a"), LogLine("b")]) == 2
    assert sql_store.append_log(task.id, [LogLine("c")]) == 3
    assert sql_store.get_task(task.id).last_update >= task.last_update
    kinds = [(e.kind, e.data) for e in sql_store.events_since(0, task_id=task.id)]
    assert kinds[-2:] == [("task.log", {"last_seq": 2}), ("task.log", {"last_seq": 3})]
    with pytest.raises(TaskNotFoundError):
        sql_store.append_log("feedbeef", [LogLine("x")])


def test_pipeline_nodes_append_new_names_and_update_known_ones(sql_store: SqlTaskStore) -> None:
    run = new_task(sql_store)
    sql_store.put_nodes(run.id, [("b", {"v": 1}), ("a", {"v": 1})])
    sql_store.put_nodes(run.id, [("c", {"v": 1}), ("b", {"v": 2})])
    sql_store.put_nodes(run.id, [])
    assert sql_store.get_nodes(run.id) == [("b", {"v": 2}), ("a", {"v": 1}), ("c", {"v": 1})]


@pytest.mark.parametrize(
    ("sql", "index"),
    [
        (
            "SELECT COALESCE(MAX(position), 0) FROM pipeline_nodes WHERE run_id = ?",
            "ix_pipeline_nodes_position",
        ),
        ("SELECT COALESCE(MAX(position), 0) + 1 FROM artifacts WHERE task_id = ?", "ix_artifacts_position"),
        ("SELECT COALESCE(MAX(position), 0) FROM task_params WHERE task_id = ?", "ix_task_params_position"),
    ],
)
def test_the_next_position_is_read_off_an_index(tmp_path: Path, sql: str, index: str) -> None:
    """A node-state flush, an artifact or a parameter write finds its next position without
    reading the rows the run or task already has (O(log n), not O(n) per write)."""
    store = SqlTaskStore(f"sqlite:///{tmp_path}/s.db")
    plan = " ".join(str(r[-1]) for r in store._db.execute("EXPLAIN QUERY PLAN " + sql, ("x",)))
    store.close()
    assert index in plan and "SEARCH" in plan, plan


def test_node_flushes_keep_positions_across_many_writes(sql_store: SqlTaskStore) -> None:
    run = new_task(sql_store)
    for start in range(0, 300, 50):
        sql_store.put_nodes(run.id, [(f"n{i}", {"i": i}) for i in range(start, start + 50)])
        sql_store.put_nodes(run.id, [(f"n{start}", {"i": -1})])  # an update keeps its place
    names = [name for name, _ in sql_store.get_nodes(run.id)]
    assert names == [f"n{i}" for i in range(300)]


@pytest.fixture(params=["sql", "http"])
def any_store(request: pytest.FixtureRequest, sql_url: str, tmp_path: Path) -> Iterator[TaskStore]:
    """The SQL store, and the HTTP store served by a real server over it."""
    if request.param == "sql":
        direct = SqlTaskStore(sql_url)
        yield direct
        direct.close()
        return
    from tests.server.harness import served

    with served(sql_url, tmp_path, artifact_allow=("/m",)) as server:
        client = open_store(server.url)
        yield client
        client.close()


def _make(store: TaskStore, name: str) -> TaskRecord:
    return store.create_task(TaskRecord(id=new_id(), name=name, project="proj"))


def test_a_moved_model_keeps_its_id_and_is_the_newest_of_its_new_task(any_store: TaskStore) -> None:
    train, other, select = (_make(any_store, n) for n in ("train", "other", "select"))
    any_store.add_model(ModelRecord(train.id, "m1", "net", "/m/net.pt", "output", "PyTorch", 5.0))
    any_store.add_model(ModelRecord(select.id, "m0", "old", "/m/old.pt", "output", "", 1.0))
    any_store.add_model(ModelRecord(other.id, "m2", "x", "/m/x.pt", "output", "", 9.0))
    moved = any_store.move_model("m1", select.id, name="best")
    assert (moved.task_id, moved.id, moved.name, moved.uri, moved.mode, moved.framework) == (
        select.id,
        "m1",
        "best",
        "/m/net.pt",
        "output",
        "PyTorch",
    )
    assert moved.timestamp > 5.0
    assert any_store.get_models(train.id) == []
    assert [m.id for m in any_store.get_models(select.id)] == ["m0", "m1"]
    assert any_store.get_models(select.id)[-1] == moved
    # again, or renamed on its own task: the name changes, the place does not (idempotent)
    assert any_store.move_model("m1", select.id, name="best") == moved
    renamed = any_store.move_model("m1", select.id)
    assert renamed == moved
    assert any_store.move_model("m1", select.id, name="chosen").timestamp == moved.timestamp


def test_moving_an_unknown_model_or_to_an_unknown_task_is_not_found(any_store: TaskStore) -> None:
    task = _make(any_store, "t")
    any_store.add_model(ModelRecord(task.id, "m1", "net", "/m/net.pt"))
    with pytest.raises(NotFoundError, match="no model record with id 'nope'"):
        any_store.move_model("nope", task.id)
    with pytest.raises(TaskNotFoundError):
        any_store.move_model("m1", "no-such-task")
    assert [m.task_id for m in any_store.get_models(task.id)] == [task.id]  # nothing moved


def test_a_batch_that_fails_after_a_move_moves_nothing(sql_store: SqlTaskStore) -> None:
    # (in an HTTP batch, an operation returning a value commits what came before it: see store.http)
    a, b = _make(sql_store, "a"), _make(sql_store, "b")
    sql_store.add_model(ModelRecord(a.id, "m1", "net", "/m/net.pt"))
    with pytest.raises(TaskNotFoundError), sql_store.batch():
        sql_store.move_model("m1", b.id)
        sql_store.update_task("no-such-task", name="x")
    assert [m.id for m in sql_store.get_models(a.id)] == ["m1"]
