"""Parameters edited as text: a draft task's before it runs (``taskmill tasks set-param``, the web
UI's draft form) and a run's ``Args/`` for a new run or a resume.

Values typed as text are cast like the values they replace (:func:`~taskmill.core.param_types.parse_like`).
Drafts follow ClearML's "only drafts are editable" rule.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from taskmill.core.model import Param, split_key
from taskmill.core.param_types import parse_like, type_name
from taskmill.core.states import TaskStatus
from taskmill.core.stored import KWARGS, KWARGS_ARTIFACTS
from taskmill.errors import ConflictError, SpecError
from taskmill.store.base import TaskStore
from taskmill.types import JSONValue


def set_draft_params(store: TaskStore, task_id: str, overrides: Mapping[str, str]) -> list[Param]:
    """Set ``Section/name`` parameters of draft task ``task_id`` from text; returns what was written.

    An existing parameter keeps its type (``5`` for an int, ``true`` for a bool; a value that is
    not of that type is refused). A new one is read as JSON when it parses, else as a string.
    Setting ``kwargs/<arg>`` of a function step replaces the parent output that argument was bound to.
    All or nothing: every value is checked before any is written, in one transaction.
    No ``overrides`` writes nothing but still checks the task is a draft.
    Raises ConflictError when the task is not a draft, SpecError for a bad key or value.
    """
    record = store.get_task(task_id)
    if record.status != TaskStatus.created:
        raise ConflictError(
            f"task {record.name} ({task_id}) is {record.status.value}; only draft tasks can be edited "
            "(clone it for an editable copy: Task.clone)"
        )
    stored = {f"{p.section}/{p.name}": p for p in store.get_params(task_id)}
    out: list[Param] = []
    for key, text in overrides.items():
        if "/" not in key:
            raise SpecError(
                f"parameter key '{key}' has no section; use 'Section/name' (e.g. 'General/{key}')"
            )
        try:
            section, name = split_key(key)
            old = stored.get(key)
            if old is not None:
                value = parse_like(key, text, old.value, old.type, where="on this task")
                out.append(Param(section, name, value, old.type, old.description))
            else:
                value = _json_or_text(text)
                out.append(Param(section, name, value, type_name(value)))
            linked = stored.get(f"{KWARGS_ARTIFACTS}/{name}")
            if section == KWARGS and linked is not None and linked.value:
                # the argument came from a parent step's output; the typed value replaces it
                out.append(Param(KWARGS_ARTIFACTS, name, "", linked.type))
        except ValueError as exc:
            raise SpecError(str(exc)) from None
    if not out:  # nothing to change: the draft check above is the whole answer
        return out
    with store.batch():
        # checked again inside the write: a task enqueued meanwhile is not edited behind its runner
        if store.get_task(task_id).status != TaskStatus.created:
            raise ConflictError(f"task {task_id} left draft while it was being edited; nothing was changed")
        store.set_params(task_id, out)
    return out


def param_updates(stored: list[Param], overrides: Mapping[str, str]) -> list[Param]:
    """New ``Args/`` parameters from text overrides, each cast like the stored value in ``stored``.

    Writes nothing (the caller stores them). Raises ValueError for a parameter the run does not
    have or a value not of its type.
    """
    args = {p.name: p for p in stored if p.section == "Args"}
    out = []
    for key, text in overrides.items():
        name = key.removeprefix("Args/")
        if name not in args:
            raise ValueError(
                f"the run has no parameter '{name}'; its parameters: {', '.join(args) or 'none'}"
            )
        old = args[name]
        out.append(
            Param(
                "Args",
                name,
                parse_like(name, text, old.value, old.type, where="on this run"),
                old.type,
                old.description,
            )
        )
    return out


def _json_or_text(text: str) -> JSONValue:
    try:
        value: JSONValue = json.loads(text)
    except ValueError:
        return text
    return value
