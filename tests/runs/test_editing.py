"""Parameters edited as text: draft tasks (typed, all or nothing, drafts only) and a run's Args."""

from __future__ import annotations

import pytest

from taskmill.core.model import Param, TaskRecord, new_id
from taskmill.core.states import TaskStatus
from taskmill.errors import ConflictError, SpecError
from taskmill.runs.editing import param_updates, set_draft_params
from taskmill.store.base import TaskStore
from tests.runs.stored import move


def _draft(store: TaskStore, params: list[Param]) -> str:
    record = store.create_task(TaskRecord(id=new_id(), name="step", project="tests"))
    store.set_params(record.id, params)
    return record.id


def test_edits_keep_each_parameters_type_and_new_ones_read_json(store: TaskStore) -> None:
    task = _draft(store, [Param("General", "n", 1, "int"), Param("General", "on", False, "bool")])
    written = set_draft_params(store, task, {"General/n": "5", "General/on": "yes", "Extra/ids": "[1, 2]"})
    assert [(p.key, p.value, p.type) for p in written] == [
        ("General/n", 5, "int"),
        ("General/on", True, "bool"),
        ("Extra/ids", [1, 2], "list"),
    ]
    assert store.get_param_dict(task) == {"General/n": 5, "General/on": True, "Extra/ids": [1, 2]}
    set_draft_params(store, task, {"Extra/name": "not json"})
    assert store.get_param_dict(task)["Extra/name"] == "not json"


def test_a_typed_argument_replaces_the_parent_output_it_was_bound_to(store: TaskStore) -> None:
    task = _draft(store, [Param("kwargs", "x", None), Param("kwargs_artifacts", "x", "abc.ys", "str")])
    set_draft_params(store, task, {"kwargs/x": "[3]"})
    assert store.get_param_dict(task) == {"kwargs/x": [3], "kwargs_artifacts/x": ""}


def test_bad_values_change_nothing(store: TaskStore) -> None:
    task = _draft(store, [Param("General", "n", 1, "int")])
    with pytest.raises(SpecError, match="parameter 'General/n' takes int values on this task; 'x'"):
        set_draft_params(store, task, {"General/m": "2", "General/n": "x"})
    with pytest.raises(SpecError, match="has no section"):
        set_draft_params(store, task, {"n": "2"})
    assert store.get_param_dict(task) == {"General/n": 1}


def test_only_drafts_are_editable(store: TaskStore) -> None:
    task = _draft(store, [Param("General", "n", 1, "int")])
    assert set_draft_params(store, task, {}) == []  # the draft check alone
    move(store, task, TaskStatus.queued)
    with pytest.raises(ConflictError, match="is queued; only draft tasks can be edited"):
        set_draft_params(store, task, {"General/n": "2"})
    with pytest.raises(ConflictError):
        set_draft_params(store, task, {})
    assert store.get_param_dict(task) == {"General/n": 1}


def test_a_runs_args_are_cast_like_the_stored_values() -> None:
    stored = [
        Param("Args", "n", 1, "int"),
        Param("Args", "lr", 0.1),
        Param("Args", "on", False),
        Param("Args", "ids", [1]),
        Param("Args", "name", "a"),
        Param("Args", "x", None, "float"),
    ]
    new = {"Args/n": "2", "lr": "1e-3", "on": "yes", "ids": "[2, 3]", "name": "7", "x": "2.5"}
    assert [p.value for p in param_updates(stored, new)] == [2, 0.001, True, [2, 3], "7", 2.5]
    with pytest.raises(ValueError, match="takes list values"):
        param_updates(stored, {"ids": '{"a": 1}'})
    with pytest.raises(ValueError, match="the run has no parameter 'nope'; its parameters: n, lr"):
        param_updates(stored, {"nope": "1"})
