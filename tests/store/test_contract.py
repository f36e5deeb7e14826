"""The store contract: every test runs against SQLite and a real PostgreSQL server."""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from taskmill.core.model import (
    ArtifactRecord,
    ConfigObject,
    LogLine,
    ModelRecord,
    Param,
    PlotRecord,
    ScalarPoint,
    ScriptInfo,
    TaskRecord,
    new_id,
)
from taskmill.core.states import TaskStatus, TaskTypes
from taskmill.core.stored import DEFAULT_QUEUE, SERVICES_QUEUE
from taskmill.errors import (
    ConflictError,
    InvalidTransitionError,
    QueueNotFoundError,
    TaskNotFoundError,
)
from taskmill.store.base import TaskFilter, TaskStore
from taskmill.store.factory import open_store


@pytest.fixture(params=["sqlite", "postgres", "http", "http-postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """SQLite, PostgreSQL, and the HTTP store served by a real `taskmill server` over each."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/store.db"
    elif request.param == "postgres":
        yield str(request.getfixturevalue("pg_url"))
    else:
        yield from http_store_url(request, tmp_path)


def http_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a server (uvicorn in a thread, no auth) over a fresh SQLite or PostgreSQL store."""
    from tests.server.harness import served

    if request.param == "http":
        backing = f"sqlite:///{tmp_path}/store.db"
    else:
        backing = str(request.getfixturevalue("pg_url"))
    # The contract's records point at made-up locations; the server confines reads to allowed ones.
    with served(backing, tmp_path, artifact_allow=("/x", "/m")) as server:
        yield server.url


@pytest.fixture
def store(store_url: str) -> Iterator[TaskStore]:
    s = open_store(store_url)
    yield s
    s.close()


def make(store: TaskStore, name: str = "t", project: str = "proj", **kw: object) -> TaskRecord:
    return store.create_task(TaskRecord(id=new_id(), name=name, project=project, **kw))  # type: ignore[arg-type]


def test_create_and_get_roundtrip(store: TaskStore) -> None:
    script = ScriptInfo(entry_point="train.py", repository="git@x:y.git", commit="abc", diff="+a")
    t = make(
        store,
        "train",
        "a/b/c",
        task_type=TaskTypes.data_processing,
        tags=("x", "y"),
        system_tags=("pipeline",),
        script=script,
        runtime={"k": 1},
    )
    got = store.get_task(t.id)
    assert got.name == "train" and got.project == "a/b/c"
    assert got.task_type == TaskTypes.data_processing
    assert got.status == TaskStatus.created
    assert got.tags == ("x", "y") and got.system_tags == ("pipeline",)
    assert got.script == script
    assert got.runtime == {"k": 1}
    assert got.created > 0 and got.last_update >= got.created


def test_missing_task_names_the_id(store: TaskStore) -> None:
    with pytest.raises(TaskNotFoundError, match="deadbeef"):
        store.get_task("deadbeef")
    with pytest.raises(TaskNotFoundError, match="deadbeef"):
        store.get_params("deadbeef")


def test_duplicate_id_conflicts(store: TaskStore) -> None:
    t = make(store)
    with pytest.raises(ConflictError):
        store.create_task(TaskRecord(id=t.id, name="again", project="p"))


def test_projects_are_hierarchical_and_hidden(store: TaskStore) -> None:
    make(store, project="team/proj/.pipelines/pipe")
    make(store, project="team/proj")
    visible = [p.name for p in store.list_projects()]
    assert visible == ["team", "team/proj"]
    every = {p.name: p.task_count for p in store.list_projects(include_hidden=True)}
    assert every["team/proj/.pipelines"] == 0 and every["team/proj/.pipelines/pipe"] == 1
    rec = store.ensure_project("team/proj/.pipelines/pipe", system_tags=("pipeline", "hidden"))
    assert rec.system_tags == ("pipeline", "hidden") and rec.hidden


def test_params_keep_types_and_upsert(store: TaskStore) -> None:
    t = make(store)
    store.set_params(
        t.id,
        [
            Param("Args", "lr", 0.1, "float"),
            Param("Args", "epochs", 3),
            Param("General", "flag", True),
            Param("General", "layers", [1, 2]),
            Param("General", "nested", {"a": None}),
        ],
    )
    store.set_params(t.id, [Param("Args", "lr", 0.2)])
    d = store.get_param_dict(t.id)
    assert d == {
        "Args/lr": 0.2,
        "Args/epochs": 3,
        "General/flag": True,
        "General/layers": [1, 2],
        "General/nested": {"a": None},
    }
    assert isinstance(d["Args/epochs"], int) and isinstance(d["General/flag"], bool)
    store.delete_params(t.id, [("Args", "lr")])
    assert "Args/lr" not in store.get_param_dict(t.id)
    store.set_params(t.id, [Param("X", "only", 1)], replace=True)
    assert store.get_param_dict(t.id) == {"X/only": 1}


def test_configs(store: TaskStore) -> None:
    t = make(store)
    store.set_config(t.id, ConfigObject("General", '{"a": 1}'))
    store.set_config(t.id, ConfigObject("General", '{"a": 2}', description="v2"))
    (cfg,) = store.get_configs(t.id)
    assert cfg.value == '{"a": 2}' and cfg.description == "v2"


def test_status_table_is_enforced(store: TaskStore) -> None:
    t = make(store)
    running = store.set_status(t.id, TaskStatus.in_progress)
    assert running.started is not None
    done = store.set_status(t.id, TaskStatus.completed, message="ok")
    assert done.completed is not None and done.status_message == "ok"
    with pytest.raises(InvalidTransitionError, match=r"completed.*queued"):
        store.set_status(t.id, TaskStatus.queued)
    forced = store.set_status(t.id, TaskStatus.failed, force=True)
    assert forced.status == TaskStatus.failed
    reset = store.set_status(t.id, TaskStatus.created)
    assert reset.started is None and reset.completed is None


def test_compare_and_set(store: TaskStore) -> None:
    t = make(store)
    with pytest.raises(ConflictError):
        store.set_status(t.id, TaskStatus.in_progress, expected=[TaskStatus.queued])
    store.set_status(t.id, TaskStatus.in_progress, expected=[TaskStatus.created])


def test_update_task_fields(store: TaskStore) -> None:
    t = make(store, runtime={"a": 1})
    u = store.update_task(
        t.id, name="n2", tags=["q"], runtime={"b": 2}, progress=50, parent="p" * 32, project="other/x"
    )
    assert (u.name, u.tags, u.runtime, u.progress, u.parent, u.project) == (
        "n2",
        ("q",),
        {"a": 1, "b": 2},
        50,
        "p" * 32,
        "other/x",
    )
    with pytest.raises(ValueError, match="status"):
        store.update_task(t.id, status="completed")


def test_find_tasks_filters(store: TaskStore) -> None:
    a = make(store, "alpha", "p", tags=("gpu", "x"))
    b = make(store, "beta", "p/sub", tags=("gpu",))
    c = make(store, "gamma", "q", task_type=TaskTypes.controller)
    store.set_status(b.id, TaskStatus.in_progress)
    assert {t.id for t in store.find_tasks(TaskFilter(project="p"))} == {a.id}
    assert {t.id for t in store.find_tasks(TaskFilter(project="p", include_subprojects=True))} == {a.id, b.id}
    assert {t.id for t in store.find_tasks(TaskFilter(tags=("gpu",)))} == {a.id, b.id}
    assert {t.id for t in store.find_tasks(TaskFilter(tags=("gpu", "x")))} == {a.id}
    assert {t.id for t in store.find_tasks(TaskFilter(status=(TaskStatus.in_progress,)))} == {b.id}
    assert {t.id for t in store.find_tasks(TaskFilter(task_type=(TaskTypes.controller,)))} == {c.id}
    assert [t.name for t in store.find_tasks(TaskFilter(name_contains="AMM"))] == ["gamma"]
    assert [t.name for t in store.find_tasks(TaskFilter(order="name", limit=2))] == ["alpha", "beta"]


def test_artifacts_models_scalars_plots(store: TaskStore) -> None:
    t = make(store)
    store.put_artifact(
        ArtifactRecord(t.id, "data", "/x/data.npy", "numpy", "npy", 10, "sha256:1", metadata={"m": 1})
    )
    store.put_artifact(ArtifactRecord(t.id, "model", "/x/m.pkl", "pickle", "pickle", 5, "sha256:2"))
    store.put_artifact(ArtifactRecord(t.id, "data", "/x/data2.npy", "numpy", "npy", 11, "sha256:3"))
    arts = store.get_artifacts(t.id)
    assert [a.name for a in arts] == ["data", "model"]
    assert arts[0].uri == "/x/data2.npy" and arts[0].hash == "sha256:3"
    store.delete_artifact(t.id, "model")
    assert [a.name for a in store.get_artifacts(t.id)] == ["data"]
    store.add_model(ModelRecord(t.id, new_id(), "best", "/m/best.pt"))
    assert [m.name for m in store.get_models(t.id)] == ["best"]
    store.add_scalars(t.id, [ScalarPoint("loss", "train", i, 1.0 / (i + 1)) for i in range(3)])
    pts = store.get_scalars(t.id)
    assert [p.iteration for p in pts] == [0, 1, 2] and pts[1].value == 0.5
    store.add_plot(t.id, PlotRecord("tbl", "s", 0, "table", {"columns": ["a"], "rows": [[1]]}))
    assert store.get_plots(t.id)[0].data == {"columns": ["a"], "rows": [[1]]}


def test_log_appends_in_order_and_follows(store: TaskStore) -> None:
    t = make(store)
    last = store.append_log(t.id, [LogLine("one"), LogLine("two")])
    assert last == 2
    store.append_log(t.id, [LogLine("three", level="error", stream="stderr")])
    assert [ln.text for ln in store.get_log(t.id)] == ["one", "two", "three"]
    newer = store.get_log(t.id, after=2)
    assert [(ln.seq, ln.text, ln.stream) for ln in newer] == [(3, "three", "stderr")]
    assert [ln.text for ln in store.get_log(t.id, tail=2)] == ["two", "three"]  # the end, in order
    assert [ln.text for ln in store.get_log(t.id, limit=2)] == ["one", "two"]
    assert [ln.seq for ln in store.get_log(t.id, after=1, tail=5)] == [2, 3]
    assert store.get_log(t.id, tail=0) == []
    with pytest.raises(ValueError, match="not both"):
        store.get_log(t.id, limit=1, tail=1)


def test_concurrent_log_appends_lose_nothing(store: TaskStore, store_url: str) -> None:
    t = make(store)
    stores = [open_store(store_url) for _ in range(4)]

    def writer(s: TaskStore, k: int) -> None:
        for i in range(25):
            s.append_log(t.id, [LogLine(f"{k}-{i}")])

    threads = [threading.Thread(target=writer, args=(s, k)) for k, s in enumerate(stores)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for s in stores:
        s.close()
    lines = store.get_log(t.id)
    assert len(lines) == 100
    assert [ln.seq for ln in lines] == list(range(1, 101))
    assert {ln.text for ln in lines} == {f"{k}-{i}" for k in range(4) for i in range(25)}


NAN, INF = float("nan"), float("inf")


def _same(a: object, b: object) -> bool:
    """Equality where NaN equals NaN (and nothing else changes)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def test_reports_round_trip_nan_and_inf(store: TaskStore) -> None:
    t = store.create_task(TaskRecord(id=new_id(), name="t", project="p"))
    values = [NAN, INF, -INF, 0.5]
    store.add_scalars(t.id, [ScalarPoint("loss", "train", i, v) for i, v in enumerate(values)])
    store.add_scalars(t.id, [ScalarPoint("Summary", "best", 0, NAN)])  # a single value
    table = {"columns": ["a", "b"], "rows": [[1.0, NAN], [INF, -INF]]}
    figure = {"data": [{"type": "scatter", "x": [0, 1, 2], "y": [NAN, INF, -INF]}], "layout": {}}
    store.add_plot(t.id, PlotRecord("tbl", "s", 0, "table", table))
    store.add_plot(t.id, PlotRecord("fig", "s", 0, "plotly", figure))
    params = [Param("Args", "lr", NAN), Param("Args", "limit", INF), Param("Args", "l", [-INF])]
    store.set_params(t.id, params)

    got = {(p.title, p.iteration): p.value for p in store.get_scalars(t.id)}
    assert [got["loss", i] for i in (1, 2, 3)] == [INF, -INF, 0.5]
    assert math.isnan(got["loss", 0]) and math.isnan(got["Summary", 0])
    plots = {p.title: p.data for p in store.get_plots(t.id)}
    assert _same(plots["tbl"], table) and _same(plots["fig"], figure)
    assert _same(store.get_param_dict(t.id), {"Args/lr": NAN, "Args/limit": INF, "Args/l": [-INF]})


def test_a_retried_claim_returns_the_same_task(store: TaskStore) -> None:
    """A claim repeated with its request id (its answer was lost) gets the task it took, not another."""
    store.create_queue("q")
    first, second = make(store, "first"), make(store, "second")
    store.enqueue(first.id, "q")
    store.enqueue(second.id, "q")
    got = store.claim(["q"], "w1", request_id="req-1")
    assert got is not None and got.id == first.id
    again = store.claim(["q"], "w1", request_id="req-1")
    assert again is not None and again.id == first.id and again.status == TaskStatus.in_progress
    assert [e.task_id for e in store.queue_entries("q")] == [second.id]  # nothing else was taken
    other = store.claim(["q"], "w1", request_id="req-2")
    assert other is not None and other.id == second.id
    assert store.claim(["q"], "w1", request_id="req-3") is None
    assert store.claim(["q"], "w1", request_id="req-2") is not None  # still the same answer


def test_a_new_store_has_the_standard_queues(store: TaskStore) -> None:
    """``default`` and ``services`` exist from the start, as on a ClearML Server; empty."""
    assert [(q.name, q.depth) for q in store.list_queues()] == [(DEFAULT_QUEUE, 0), (SERVICES_QUEUE, 0)]
    assert store.create_queue(DEFAULT_QUEUE).name == DEFAULT_QUEUE  # still idempotent


def test_queues_priority_and_claim(store: TaskStore) -> None:
    store.create_queue("default")
    assert store.create_queue("default").name == "default"  # idempotent
    low = make(store, "low")
    high = make(store, "high")
    later = make(store, "later")
    store.enqueue(low.id, "default")
    store.enqueue(high.id, "default", priority=10)
    store.enqueue(later.id, "default")
    assert [e.task_id for e in store.queue_entries("default")] == [high.id, low.id, later.id]
    assert store.get_queue("default").depth == 3
    assert store.get_task(low.id).status == TaskStatus.queued
    first = store.claim(["default"], "w1")
    assert first is not None and first.id == high.id
    assert first.status == TaskStatus.in_progress and first.worker == "w1" and first.queue == "default"
    store.dequeue(later.id)
    assert store.get_task(later.id).status == TaskStatus.created
    second = store.claim(["default"], "w1")
    assert second is not None and second.id == low.id
    assert store.claim(["default"], "w1") is None


def test_claim_serves_queues_in_given_order(store: TaskStore) -> None:
    store.create_queue("a")
    store.create_queue("b")
    ta, tb = make(store), make(store)
    store.enqueue(ta.id, "a")
    store.enqueue(tb.id, "b")
    got = store.claim(["b", "a"], "w")
    assert got is not None and got.id == tb.id


def test_queue_errors(store: TaskStore) -> None:
    t = make(store)
    with pytest.raises(QueueNotFoundError, match="queues create nope"):
        store.enqueue(t.id, "nope")
    store.create_queue("q")
    store.enqueue(t.id, "q")
    with pytest.raises(ConflictError, match="already queued"):
        store.enqueue(t.id, "q")
    with pytest.raises(ConflictError, match="still holds 1"):
        store.delete_queue("q")
    store.delete_queue("q", force=True)
    assert store.get_task(t.id).status == TaskStatus.created
    with pytest.raises(QueueNotFoundError):
        store.get_queue("q")
    done = make(store)
    store.set_status(done.id, TaskStatus.in_progress)
    store.set_status(done.id, TaskStatus.completed)
    store.create_queue("q2")
    with pytest.raises(InvalidTransitionError):
        store.enqueue(done.id, "q2")
    assert store.get_queue("q2").depth == 0  # nothing half-done


def test_leaving_queued_removes_the_entry(store: TaskStore) -> None:
    store.create_queue("q")
    t = make(store)
    store.enqueue(t.id, "q")
    store.set_status(t.id, TaskStatus.stopped)
    assert store.queue_entries("q") == []


def test_claims_never_hand_out_a_task_twice(store: TaskStore, store_url: str) -> None:
    store.create_queue("work")
    ids = {make(store, f"t{i}").id for i in range(60)}
    with store.batch():
        for tid in ids:
            store.enqueue(tid, "work")
    claimed: list[str] = []
    lock = threading.Lock()

    def worker(k: int) -> None:
        s = open_store(store_url)
        try:
            while (rec := s.claim(["work"], f"w{k}")) is not None:
                with lock:
                    claimed.append(rec.id)
        finally:
            s.close()

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(claimed) == sorted(ids)  # every task exactly once


def test_batch_is_all_or_nothing(store: TaskStore) -> None:
    with pytest.raises(RuntimeError):
        with store.batch():
            make(store, "inside")
            raise RuntimeError("boom")
    assert store.find_tasks(TaskFilter(name="inside")) == []


def test_delete_task_removes_records(store: TaskStore) -> None:
    t = make(store)
    store.set_params(t.id, [Param("A", "b", 1)])
    store.append_log(t.id, [LogLine("x")])
    store.delete_task(t.id)
    with pytest.raises(TaskNotFoundError):
        store.get_task(t.id)
    assert store.get_log(t.id) == []


def test_reopen_keeps_data(store_url: str) -> None:
    s1 = open_store(store_url)
    t = make(s1, "persist")
    s1.close()
    s2 = open_store(store_url)
    assert s2.get_task(t.id).name == "persist"
    s2.close()


def test_pipeline_nodes_keep_order_and_update(store: TaskStore) -> None:
    run = make(store, "pipe #1")
    store.put_nodes(run.id, [("b", {"status": "pending"}), ("a", {"status": "pending"})])
    store.put_nodes(run.id, [("a", {"status": "running", "job_id": "x"}), ("c", {"status": "pending"})])
    assert store.get_nodes(run.id) == [
        ("b", {"status": "pending"}),
        ("a", {"status": "running", "job_id": "x"}),
        ("c", {"status": "pending"}),
    ]
    assert store.get_nodes(make(store).id) == []


def test_find_tasks_search_text_is_literal(store: TaskStore) -> None:
    """``%``, ``_`` and ``\\`` in a tag or a name search match themselves, never as wildcards."""
    under = make(store, "run_1", tags=("my_tag",))
    plain = make(store, "runX1", tags=("myXtag",))
    pct = make(store, "100% done", tags=("50%",))
    slash = make(store, "a\\b", tags=("c:\\d",))
    make(store, "100 done", tags=("50",))

    def ids(**kw: object) -> set[str]:
        return {t.id for t in store.find_tasks(TaskFilter(**kw))}  # type: ignore[arg-type]

    assert ids(tags=("my_tag",)) == {under.id}
    assert ids(tags=("myXtag",)) == {plain.id}
    assert ids(name_contains="n_1") == {under.id}
    assert ids(name_contains="_") == {under.id}
    assert ids(name_contains="0%") == {pct.id}
    assert ids(tags=("50%",)) == {pct.id}
    assert ids(name_contains="a\\b") == {slash.id}
    assert ids(name_contains="\\") == {slash.id}
    assert ids(tags=("c:\\d",)) == {slash.id}
    assert ids(name_contains="%") == {pct.id}


def test_find_by_cache_key_only_finished(store: TaskStore) -> None:
    done = make(store, cache_key="k1")
    store.set_status(done.id, TaskStatus.in_progress)
    store.set_status(done.id, TaskStatus.completed)
    make(store, cache_key="k1")  # still a draft: not a cache source
    other = make(store)
    store.update_task(other.id, cache_key="k2")
    assert [t.id for t in store.find_by_cache_key("k1")] == [done.id]
    assert store.find_by_cache_key("k2") == []
    assert store.find_by_cache_key("") == []


def test_workers_register_heartbeat_and_leave(store: TaskStore) -> None:
    from taskmill.errors import NotFoundError

    w = store.register_worker("host:1", ["default", "gpu"], {"host": "h", "pid": 1})
    assert w.queues == ("default", "gpu") and w.info == {"host": "h", "pid": 1}
    t = make(store)
    store.heartbeat("host:1", t.id)
    (seen,) = store.list_workers()
    assert seen.task_id == t.id and seen.last_seen >= w.last_seen
    store.unregister_worker("host:1")
    store.unregister_worker("host:1")  # idempotent
    assert store.list_workers() == []
    with pytest.raises(NotFoundError, match="host:1"):
        store.heartbeat("host:1")


def test_event_feed_records_changes_in_order(store: TaskStore) -> None:
    start = store.last_event_id()
    t = make(store, "evented")
    store.set_status(t.id, TaskStatus.in_progress)
    store.append_log(t.id, [LogLine("x")])
    store.put_nodes(t.id, [("a", {"status": "running"})])
    store.set_status(t.id, TaskStatus.completed)
    events = store.events_since(start)
    kinds = [e.kind for e in events if e.task_id == t.id]
    assert kinds == ["task.created", "task.status", "task.log", "pipeline.nodes", "task.status"]
    assert events[-1].data["status"] == "completed" and events[-1].data["previous"] == "in_progress"
    assert [e.id for e in events] == sorted(e.id for e in events)
    assert store.events_since(start, task_id=t.id, limit=2)[1].kind == "task.status"
    assert store.last_event_id() == events[-1].id


def test_wait_events_wakes_on_a_change(store: TaskStore, store_url: str) -> None:
    import time as _time

    t = make(store)
    after = store.last_event_id()
    writer = open_store(store_url)

    def change() -> None:
        _time.sleep(0.2)
        writer.set_status(t.id, TaskStatus.in_progress)

    thread = threading.Thread(target=change)
    started = _time.monotonic()
    thread.start()
    events = store.wait_events(after, timeout=5)
    waited = _time.monotonic() - started
    thread.join()
    writer.close()
    assert [e.kind for e in events] == ["task.status"]
    assert 0.15 < waited < 2.0
    assert store.wait_events(store.last_event_id(), timeout=0.05) == []


def test_api_keys_create_check_revoke(store: TaskStore) -> None:
    from taskmill.errors import NotFoundError

    before = {k.id for k in store.list_api_keys()}  # an HTTP store's server may hold its own key
    key_id, secret = store.create_api_key("ci")
    assert secret.startswith(f"tm_{key_id}_") and len(secret) > 40
    other_id, other = store.create_api_key()
    assert other_id != key_id and other != secret
    assert store.check_api_key(secret) and store.check_api_key(other)
    for wrong in (
        "",
        "garbage",
        secret + "x",
        secret[:-1],
        f"tm_{key_id}_" + "A" * 43,
        other.replace(other_id, key_id),
    ):
        assert not store.check_api_key(wrong), wrong
        assert store.find_api_key(wrong) is None
    listed = [k for k in store.list_api_keys() if k.id not in before]
    assert [(k.id, k.name, k.is_revoked) for k in listed] == [(key_id, "ci", False), (other_id, "", False)]
    assert secret not in repr(listed)
    store.revoke_api_key(key_id)
    store.revoke_api_key(key_id)  # idempotent
    assert not store.check_api_key(secret) and store.check_api_key(other)
    found = store.find_api_key(secret)
    assert found is not None and found.id == key_id and found.is_revoked
    with pytest.raises(NotFoundError, match="0123456789abcdef"):
        store.revoke_api_key("0123456789abcdef")


def test_values_the_database_cannot_hold_are_value_errors(store: TaskStore) -> None:
    # PostgreSQL refuses an over-long id (SQLite stores it): either way no bare StoreError (a 500)
    long_id = "x" * 100
    try:
        store.put_nodes(long_id, [("a", {"status": "pending"})])
    except ValueError as exc:
        assert "too long" in str(exc) or "value" in str(exc).lower()
    make(store)  # the store still works afterwards (the failed transaction was rolled back)
