"""The pipeline DAG: names, validation, queries, and DagProgress scheduling bookkeeping."""

from __future__ import annotations

import random
import re

import pytest

from taskmill.core.dag import Dag, DagBuilder, DagProgress, FailOutcome, NodeState, check_step_name
from taskmill.errors import CycleError, SpecError

# a -> b, a -> c, b -> d, c -> d
DIAMOND = {"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"]}

# -- names ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["stage_data", "a", "Stage 1", "train-model", "group/step", "étape", "x" * 200]
)
def test_legal_step_names(name: str) -> None:
    check_step_name(name)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "is empty or not a string"),
        (None, "is empty or not a string"),
        (3, "is empty or not a string"),
        (" a", "leading or trailing whitespace; use 'a'"),
        ("a\n", "leading or trailing whitespace"),
        ("stage.1", r"contains '\.'.*use e\.g\. 'stage_1'"),
        ("a$b", "contains '\\$'"),
        ("a{b", "contains '{'"),
        ("a}b", "contains '}'"),
        ("a\\b", "contains"),
        ("a\tb", "contains"),
        ("pipeline", r"'pipeline' is reserved for \$\{pipeline\.param\} references"),
    ],
)
def test_illegal_step_names(name: object, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        check_step_name(name)  # type: ignore[arg-type]


# -- building ------------------------------------------------------------------------------------


def test_duplicate_step_is_rejected_at_add_time() -> None:
    builder = DagBuilder()
    builder.add("a")
    with pytest.raises(SpecError, match="step 'a' is already in the pipeline; step names must be unique"):
        builder.add("a")


def test_reserved_and_illegal_names_are_rejected_at_add_time() -> None:
    with pytest.raises(SpecError, match="reserved"):
        DagBuilder().add("pipeline")
    with pytest.raises(SpecError, match="contains"):
        Dag.from_parents({"a.b": []})


def test_self_dependency() -> None:
    with pytest.raises(SpecError, match="step 'a' lists itself as a parent; remove it"):
        DagBuilder().add("a", ["a"])
    with pytest.raises(
        SpecError, match=re.escape("step 'a' lists itself as a parent (through a ${...} reference")
    ):
        DagBuilder().add("a", implied=["a"])


def test_explicit_and_implied_parents_are_merged_without_repeats() -> None:
    builder = DagBuilder()
    for name in "xyz":
        builder.add(name)
    builder.add("s", ["y", "x", "y"], implied=["z", "x"])
    dag = builder.build()
    assert dag.parents("s") == ("y", "x", "z")
    assert len(builder) == 4
    assert "s" in builder
    assert "nope" not in builder


def test_parents_may_be_added_after_their_children() -> None:
    dag = Dag.from_parents({"late_child": ["early_parent"], "early_parent": []})
    assert dag.order == ("early_parent", "late_child")


def test_unknown_parents_are_named_with_close_matches() -> None:
    with pytest.raises(SpecError) as info:
        Dag.from_parents({"stage_data": [], "stage_train": ["stage_dta"], "c": ["nothing_like_it"]})
    message = str(info.value)
    assert (
        "step 'stage_train' has unknown parent 'stage_dta' (did you mean 'stage_data', 'stage_train'?)"
        in message
    )
    assert "step 'c' has unknown parent 'nothing_like_it';" in message
    assert message.endswith("add the missing steps or fix the parent names")
    assert not isinstance(info.value, CycleError)


def test_unknown_parent_from_a_reference_says_so() -> None:
    builder = DagBuilder()
    builder.add("b", ["a"], implied=["ghost"])
    builder.add("a")
    with pytest.raises(
        SpecError, match=re.escape("step 'b' has unknown parent 'ghost' from a ${...} reference")
    ):
        builder.build()


def test_many_unknown_parents_are_capped() -> None:
    with pytest.raises(SpecError, match="; and 3 more; add the missing"):
        Dag.from_parents({f"s{i}": [f"missing{i}"] for i in range(8)})


def test_cycle_is_printed_in_order() -> None:
    with pytest.raises(CycleError) as info:
        Dag.from_parents({"a": ["c"], "b": ["a"], "c": ["b"], "d": ["a"]})
    assert "steps depend on each other in a loop: a -> b -> c -> a (each step waits" in str(info.value)
    assert isinstance(info.value, SpecError)


def test_cycle_printout_starts_at_the_earliest_added_step() -> None:
    with pytest.raises(CycleError, match=r"loop: root2 -> x -> root2 "):
        Dag.from_parents({"ok": [], "root2": ["x"], "x": ["root2", "ok"], "after": ["x"]})


def test_two_step_cycle() -> None:
    with pytest.raises(CycleError, match="loop: a -> b -> a "):
        Dag.from_parents({"a": ["b"], "b": ["a"]})


def test_long_cycle_is_shortened() -> None:
    parents = {f"s{i}": [f"s{i - 1}"] for i in range(1, 1000)}
    parents["s0"] = ["s999"]
    with pytest.raises(CycleError, match=r"loop: s1 -> s2 -> s3 -> s4 -> s5 -> \.\.\. \(991 more\) -> s997"):
        Dag.from_parents(parents)


# -- queries -------------------------------------------------------------------------------------


def test_queries_on_a_diamond() -> None:
    dag = Dag.from_parents(DIAMOND)
    assert dag.names == ("a", "b", "c", "d") == tuple(dag)
    assert dag.order == ("a", "b", "c", "d")
    assert dag.roots == ("a",)
    assert dag.leaves == ("d",)
    assert dag.children("a") == ("b", "c")
    assert dag.parents("d") == ("b", "c")
    assert dag.descendants("a") == {"b", "c", "d"}
    assert dag.descendants("d") == set()
    assert dag.ancestors("d") == {"a", "b", "c"}
    assert dag.ancestors("a") == set()
    assert len(dag) == 4
    assert dag.edge_count == 4
    assert "a" in dag
    assert "z" not in dag
    assert repr(dag) == "Dag(4 steps, 4 links)"
    assert Dag.from_parents(dag.to_parents()).to_parents() == DIAMOND


def test_unknown_step_in_queries() -> None:
    dag = Dag.from_parents(DIAMOND)
    with pytest.raises(ValueError, match="no step named 'bb' in this pipeline; did you mean 'b'"):
        dag.children("bb")
    with pytest.raises(ValueError, match=r"no step named 'zzz' in this pipeline$"):
        dag.descendants("zzz")


def test_empty_dag() -> None:
    dag = DagBuilder().build()
    assert len(dag) == 0
    assert dag.order == dag.roots == dag.leaves == ()
    progress = DagProgress(dag)
    assert progress.start() == []
    assert progress.finished


def random_dag(n: int, seed: int) -> Dag:
    rng = random.Random(seed)
    parents: dict[str, list[str]] = {}
    for i in range(n):
        parents[f"n{i}"] = [f"n{j}" for j in rng.sample(range(i), min(i, rng.randint(0, 4)))]
    # Add them in shuffled order: the builder must not rely on parents coming first.
    names = list(parents)
    rng.shuffle(names)
    return Dag.from_parents({name: parents[name] for name in names})


@pytest.mark.parametrize("seed", range(5))
def test_order_puts_every_step_after_its_parents(seed: int) -> None:
    dag = random_dag(300, seed)
    position = {name: i for i, name in enumerate(dag.order)}
    assert sorted(dag.order) == sorted(dag.names)
    for name in dag:
        assert all(position[p] < position[name] for p in dag.parents(name))
    ancestors = {name: dag.ancestors(name) for name in dag}
    for name in dag:
        assert dag.descendants(name) == {d for d in dag if name in ancestors[d]}


# -- DagProgress ---------------------------------------------------------------------------------


def test_progress_on_a_diamond() -> None:
    dag = Dag.from_parents(DIAMOND)
    progress = DagProgress(dag)
    assert progress.dag is dag
    assert progress.state("a") is NodeState.PENDING
    assert progress.start() == ["a"]
    assert progress.state("a") is NodeState.READY
    assert progress.complete("a") == ["b", "c"]
    assert progress.complete("c") == []  # d still waits for b
    assert progress.state("d") is NodeState.PENDING
    assert not progress.finished
    assert progress.complete("b") == ["d"]
    assert progress.complete("d") == []
    assert progress.finished
    assert progress.steps_in(NodeState.DONE) == ["a", "b", "c", "d"]


def test_progress_fan_out_and_fan_in() -> None:
    width = 50
    parents: dict[str, list[str]] = {"src": []}
    parents.update({f"w{i}": ["src"] for i in range(width)})
    parents["sink"] = [f"w{i}" for i in range(width)]
    progress = DagProgress(Dag.from_parents(parents))
    assert progress.start() == ["src"]
    assert progress.complete("src") == [f"w{i}" for i in range(width)]
    for i in range(width - 1):
        assert progress.complete(f"w{i}") == []
    assert progress.complete(f"w{width - 1}") == ["sink"]
    assert progress.complete("sink") == []
    assert progress.finished


def test_failure_skips_descendants_even_with_other_parents() -> None:
    # a -> b -> d, a -> c -> d, d -> e, c -> f
    dag = Dag.from_parents({**DIAMOND, "e": ["d"], "f": ["c"]})
    progress = DagProgress(dag)
    progress.start()
    progress.complete("a")
    outcome = progress.fail("b", skip_children=True)
    assert outcome == FailOutcome(skipped=["d", "e"], ready=[])
    assert progress.state("b") is NodeState.FAILED
    assert progress.state("d") is NodeState.SKIPPED
    assert progress.complete("c") == ["f"]  # d never becomes ready
    assert not progress.finished
    assert progress.complete("f") == []
    assert progress.finished
    assert progress.steps_in(NodeState.SKIPPED) == ["d", "e"]


def test_failure_that_lets_children_continue_releases_them() -> None:
    progress = DagProgress(Dag.from_parents(DIAMOND))
    progress.start()
    progress.complete("a")
    assert progress.fail("b", skip_children=False) == FailOutcome(skipped=[], ready=[])
    assert progress.fail("c", skip_children=False) == FailOutcome(skipped=[], ready=["d"])
    assert progress.steps_in(NodeState.FAILED) == ["b", "c"]
    progress.complete("d")
    assert progress.finished


def test_skip_by_callback_skips_the_step_and_its_subtree() -> None:
    progress = DagProgress(Dag.from_parents({**DIAMOND, "x": []}))
    assert progress.start() == ["a", "x"]
    assert progress.skip("a") == ["b", "c", "d"]
    assert progress.state("a") is NodeState.SKIPPED
    assert not progress.finished
    progress.complete("x")
    assert progress.finished


def test_resume_with_done_steps() -> None:
    # a, b done in an earlier run; c failed then and is re-run now; d waits for b and c.
    dag = Dag.from_parents(DIAMOND)
    progress = DagProgress(dag, done=["a", "b"])
    assert progress.start() == ["c"]
    assert progress.complete("c") == ["d"]
    assert progress.complete("d") == []
    assert progress.finished


def test_resume_everything_done() -> None:
    progress = DagProgress(Dag.from_parents(DIAMOND))
    progress.mark_done("a", "b", "c", "d", "a")
    assert progress.start() == []
    assert progress.finished


def test_done_step_is_not_rerun_when_its_parent_runs() -> None:
    # b was a cache hit found up front, but its parent a still has to run.
    progress = DagProgress(Dag.from_parents({"a": [], "b": ["a"], "c": ["b"]}), done=["b"])
    assert progress.start() == ["a", "c"]  # c only needs b, which is done
    assert progress.complete("a") == []
    assert progress.state("b") is NodeState.DONE


def test_failure_does_not_skip_through_a_done_step() -> None:
    # a -> b (done up front) -> c: a failing cannot block c, whose only parent is done.
    progress = DagProgress(Dag.from_parents({"a": [], "b": ["a"], "c": ["b"], "d": ["a", "b"]}), done=["b"])
    assert progress.start() == ["a", "c"]
    assert progress.fail("a", skip_children=True).skipped == ["d"]
    assert progress.state("b") is NodeState.DONE
    assert progress.state("c") is NodeState.READY


def test_progress_misuse_is_reported() -> None:
    progress = DagProgress(Dag.from_parents(DIAMOND))
    with pytest.raises(ValueError, match="step 'a' is pending, not ready"):
        progress.complete("a")
    progress.start()
    with pytest.raises(RuntimeError, match="already called"):
        progress.start()
    with pytest.raises(RuntimeError, match="before start"):
        progress.mark_done("b")
    with pytest.raises(ValueError, match="step 'b' is pending, not ready"):
        progress.fail("b", skip_children=True)
    progress.complete("a")
    with pytest.raises(ValueError, match="step 'a' is done, not ready"):
        progress.complete("a")
    with pytest.raises(ValueError, match="no step named 'q'"):
        progress.skip("q")
    with pytest.raises(ValueError, match="no step named 'q'"):
        progress.state("q")
    with pytest.raises(ValueError, match="no step named 'q'"):
        DagProgress(Dag.from_parents(DIAMOND), done=["q"])


@pytest.mark.parametrize("seed", range(5))
def test_driving_a_random_dag_respects_every_dependency(seed: int) -> None:
    rng = random.Random(seed)
    dag = random_dag(400, seed)
    progress = DagProgress(dag)
    ready = progress.start()
    finished: set[str] = set()
    failed: set[str] = set()
    skipped: set[str] = set()
    while ready:
        name = ready.pop(rng.randrange(len(ready)))
        assert all(p in finished for p in dag.parents(name))  # every parent was released
        if rng.random() < 0.03:
            outcome = progress.fail(name, skip_children=True)
            failed.add(name)
            skipped.update(outcome.skipped)
        else:
            finished.add(name)
            ready.extend(progress.complete(name))
    assert progress.finished
    assert len(finished) + len(failed) + len(skipped) == len(dag)
    # Nothing runs below a failure, so exactly the failed steps' descendants are skipped.
    below_failures: set[str] = set()
    for name in failed:
        below_failures |= dag.descendants(name)
    assert skipped == below_failures


def test_progress_add_grows_a_started_run() -> None:
    from taskmill.core.dag import Dag, DagProgress, NodeState

    progress = DagProgress(Dag.from_parents({"a": []}))
    assert progress.start() == ["a"]
    assert progress.add("b", ["a"]) is NodeState.PENDING
    assert progress.add("free") is NodeState.READY
    assert progress.complete("a") == ["b"]
    assert progress.add("c", ["a", "b"]) is NodeState.PENDING
    assert progress.complete("b") == ["c"]
    progress.complete("free")
    outcome = progress.fail("c", skip_children=True)
    assert outcome.skipped == []
    assert progress.add("d", ["c"]) is NodeState.SKIPPED
    assert progress.state("d") is NodeState.SKIPPED
    assert progress.finished


def test_progress_add_after_releasing_failure_and_errors() -> None:
    from taskmill.core.dag import Dag, DagProgress, NodeState
    from taskmill.errors import SpecError

    progress = DagProgress(Dag.from_parents({"a": []}))
    progress.start()
    progress.fail("a", skip_children=False)
    assert progress.add("b", ["a"]) is NodeState.READY
    with pytest.raises(SpecError, match="already exists"):
        progress.add("b", ["a"])
    with pytest.raises(SpecError, match="not a step"):
        progress.add("x", ["nope"])
    fresh = DagProgress(Dag.from_parents({"a": []}))
    with pytest.raises(RuntimeError):
        fresh.add("z")
