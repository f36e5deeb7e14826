"""Cache keys by part, the lookup, and why a step was or was not reused."""

from __future__ import annotations

from taskmill.core.model import ScriptInfo
from taskmill.core.states import TaskStatus
from taskmill.engine.backend import Backend
from taskmill.engine.cache import explain_hit, explain_miss, lookup, make_key, script_code

from .conftest import new_task


def test_each_part_of_the_key_changes_on_its_own() -> None:
    base = make_key(code="f", params={"kwargs/x": 1}, inputs={}, configs={})
    other = make_key(code="f", params={"kwargs/x": 2}, inputs={}, configs={})
    assert base.key != other.key
    assert [p for p in base.parts if base.parts[p] != other.parts[p]] == ["params"]
    assert base == make_key(code="f", params={"kwargs/x": 1}, inputs={}, configs={})


def test_a_repository_without_commit_is_not_cacheable() -> None:
    code, reason = script_code(ScriptInfo(repository="git@host:repo.git", entry_point="a.py"))
    assert code == "" and "has no commit recorded" in reason
    assert script_code(ScriptInfo(entry_point="a.py"))[0]


def test_lookup_finds_a_completed_task_and_a_miss_names_the_changed_part(backend: Backend) -> None:
    store = backend.store
    key = make_key(code="f", params={"kwargs/x": 1}, inputs={}, configs={})
    earlier = new_task(store, "step")
    store.update_task(earlier, cache_key=key.key, runtime=key.runtime())
    assert lookup(backend, key) is None  # not completed yet
    store.set_status(earlier, TaskStatus.completed, force=True)
    hit = lookup(backend, key)
    assert hit is not None and hit.id == earlier
    assert lookup(backend, key, exclude=earlier) is None
    assert explain_hit(hit)["result"] == "hit"
    changed = make_key(code="f", params={"kwargs/x": 2}, inputs={}, configs={})
    miss = explain_miss(backend, changed, project="engine", task_name="step", exclude="")
    assert miss["result"] == "miss" and miss["changed"] == ["params"]
    assert miss["details"] == ["kwargs/x: 1 -> 2"]
