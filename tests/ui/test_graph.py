"""The DAG layout and grouping (pure functions; no browser)."""

from __future__ import annotations

import time

from taskmill.runs.views import StepView
from taskmill.server.ui.graph import GROUP_ABOVE, GraphOptions, build_graph, summary_status
from taskmill.server.ui.layout import layout


def step(
    name: str, parents: tuple[str, ...] = (), status: str = "completed", stage: str | None = None
) -> StepView:
    return StepView(name, status, None, None, None, None, (), parents, stage, "", "", "function")


def fan(n: int, status: str = "completed") -> list[StepView]:
    workers = [step(f"train_{i}", ("root",), status) for i in range(n)]
    return [step("root"), *workers, step("join", tuple(w.name for w in workers), "pending")]


def test_layers_run_left_to_right_and_nodes_never_overlap() -> None:
    ids = ["a", "b", "c", "d"]
    parents = {"b": ["a"], "c": ["a"], "d": ["b", "c", "a"]}
    placed = layout(ids, parents, {i: (100.0, 40.0) for i in ids})
    n = placed.nodes
    assert n["a"].layer == 0 and n["b"].layer == n["c"].layer == 1 and n["d"].layer == 2
    assert n["a"].x < n["b"].x < n["d"].x
    assert abs(n["b"].y - n["c"].y) >= 40.0
    assert len(placed.edges) == 5
    long_edge = next(points for src, dst, points in placed.edges if (src, dst) == ("a", "d"))
    assert len(long_edge) == 3  # routed through its own lane in layer 1


def test_a_cycle_does_not_break_the_layout() -> None:
    placed = layout(["a", "b"], {"a": ["b"], "b": ["a"]}, {"a": (10.0, 10.0), "b": (10.0, 10.0)})
    assert {p.layer for p in placed.nodes.values()} == {0, 1}


def test_big_runs_group_repeated_steps_by_column() -> None:
    steps = fan(10_000)
    started = time.perf_counter()
    graph = build_graph(steps, GraphOptions())
    elapsed = time.perf_counter() - started
    assert len(steps) > GROUP_ABOVE and graph["grouping"]
    assert [n["kind"] for n in graph["nodes"]] == ["step", "group", "step"]
    group = graph["nodes"][1]
    assert group["size"] == 10_000 and group["counts"] == {"completed": 10_000}
    assert group["label"] == "train_* \u00d710000"
    assert graph["hidden"]["train_42"] == [group["id"], "completed"]
    assert len(graph["edges"]) == 2
    assert elapsed < 2.0, f"grouping 10,000 steps took {elapsed:.2f} s"

    opened = build_graph(steps, GraphOptions(expanded=frozenset({group["id"]})))
    assert len(opened["nodes"]) == 10_002
    small = build_graph(fan(10), GraphOptions())
    assert not small["grouping"] and len(small["nodes"]) == 12
    assert len(build_graph(fan(10), GraphOptions(group=True))["nodes"]) == 3
    # well below 1,500: a 200-step fan-out is grouped by default, and fits a screen
    assert GROUP_ABOVE < 200
    grouped = build_graph(fan(198), GraphOptions())
    assert grouped["grouping"] and len(grouped["nodes"]) == 3 and grouped["height"] < 200
    assert len(build_graph(fan(198), GraphOptions(group=False))["nodes"]) == 200


def test_nodes_carry_their_tasks_own_start_and_end() -> None:
    steps = [step("a"), step("b", ("a",))]
    graph = build_graph(steps, GraphOptions(), {"a": (10.0, 10.7)})
    a, b = graph["nodes"]
    assert (a["ts"], a["tc"]) == (10.0, 10.7)
    assert (b["ts"], b["tc"]) == (None, None)


def test_stages_collapse_into_cards_with_counts() -> None:
    steps = [
        step("load", stage="prep"),
        step("clean", ("load",), "running", stage="prep"),
        step("train", ("clean",), "pending"),
    ]
    graph = build_graph(steps, GraphOptions.parse(None, None, "*"))
    card, train = graph["nodes"]
    assert card["id"] == "stage:prep" and card["counts"] == {"completed": 1, "running": 1}
    assert card["status"] == "running" and train["id"] == "train"
    assert graph["stages"] == [{"name": "prep", "collapsed": True}]
    assert len(build_graph(steps, GraphOptions.parse(None, None, "-"))["nodes"]) == 3


def test_a_group_shows_its_worst_status() -> None:
    assert summary_status(["completed", "failed", "running"]) == "failed"
    assert summary_status(["completed", "cached"]) == "cached"
    assert summary_status([]) == "pending"
