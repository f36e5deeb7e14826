"""Step caching with reasons: the key, the lookup, and why a step was (or was not) reused.

The key covers four parts, each hashed on its own so a miss can say which part changed:

* ``code``: a function step's source with its helper functions and the local functions it calls;
  a task step's script (repository, commit, uncommitted diff, entry point, working dir). A task
  whose repository has no commit is not cacheable (ClearML's rule: "latest on a branch" moves).
* ``params``: the resolved parameters (``kwargs/`` literals for function steps).
* ``inputs``: content hashes of the input artifacts, so changed data behind an unchanged
  reference busts the cache (ClearML issue #971).
* ``configs``: configuration objects.

A hit reuses a completed task with the same key whose artifacts all still exist.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from taskmill.core.model import ScriptInfo, TaskRecord
from taskmill.core.states import TaskStatus
from taskmill.engine.backend import Backend
from taskmill.store.base import TaskFilter
from taskmill.types import JSONValue

PARTS = ("code", "params", "inputs", "configs")
_MAX_DETAIL = 2000  # characters of a parameter value kept for explanations


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def _short(value: Any) -> JSONValue:
    text = json.dumps(value, sort_keys=True, default=repr)
    return value if len(text) <= _MAX_DETAIL else text[:_MAX_DETAIL] + "..."


@dataclass(frozen=True)
class CacheKey:
    """A step's cache key, its parts, and the values behind them (for explanations)."""

    key: str  #: "" when the step cannot be cached (see ``reason``)
    parts: dict[str, str] = field(default_factory=dict)
    params: dict[str, JSONValue] = field(default_factory=dict)
    inputs: dict[str, str] = field(default_factory=dict)
    reason: str = ""

    def runtime(self) -> dict[str, JSONValue]:
        """What is recorded on the step task (so later runs can explain a miss against it)."""
        return {
            "pipeline_job_hash": self.key,
            "cache_parts": dict(self.parts),
            "cache_params": {k: _short(v) for k, v in self.params.items()},
            "cache_inputs": dict(self.inputs),
        }


def make_key(
    *, code: str, params: Mapping[str, Any], inputs: Mapping[str, str], configs: Mapping[str, Any]
) -> CacheKey:
    """Hash the four parts and combine them."""
    parts = {
        "code": _digest(code),
        "params": _digest(dict(params)),
        "inputs": _digest(dict(inputs)),
        "configs": _digest(dict(configs)),
    }
    return CacheKey(
        key=_digest(parts),
        parts=parts,
        params={k: v for k, v in params.items()},
        inputs=dict(inputs),
    )


def script_code(script: ScriptInfo) -> tuple[str, str]:
    """The code part of a task step's key, or ``("", reason)`` when it cannot be cached."""
    if script.repository and not script.commit:
        return "", f"not cacheable: the task's repository {script.repository} has no commit recorded"
    text = json.dumps(
        {
            "repository": script.repository,
            "commit": script.commit,
            "diff": script.diff,
            "entry_point": script.entry_point,
            "working_dir": script.working_dir,
        },
        sort_keys=True,
    )
    return text, ""


def lookup(backend: Backend, key: CacheKey, *, exclude: str = "") -> TaskRecord | None:
    """The newest completed task with this key whose artifacts all still exist."""
    if not key.key:
        return None
    for rec in backend.store.find_by_cache_key(key.key):
        if rec.id == exclude:
            continue
        records = backend.store.get_artifacts(rec.id)
        if all(backend.artifacts.exists(a) for a in records):
            return rec
    return None


def explain_hit(source: TaskRecord) -> dict[str, JSONValue]:
    """Explanation of a cache hit."""
    return {
        "result": "hit",
        "source_task": source.id,
        "reason": f"same code, parameters, inputs and configuration as task {source.id} "
        f"('{source.name}', completed); its outputs were reused",
    }


def explain_miss(
    backend: Backend, key: CacheKey, *, project: str, task_name: str, exclude: str
) -> dict[str, JSONValue]:
    """Explanation of a miss: which parts differ from the latest earlier run of the same step."""
    if not key.key:
        return {"result": "miss", "reason": key.reason}
    earlier = [
        t
        for t in backend.store.find_tasks(
            TaskFilter(project=project, name=task_name, status=(TaskStatus.completed,), limit=20)
        )
        if t.id != exclude and isinstance(t.runtime.get("cache_parts"), dict)
    ]
    if not earlier:
        return {"result": "miss", "reason": "no earlier completed run of this step to reuse"}
    prev = earlier[0]
    prev_parts = prev.runtime.get("cache_parts")
    assert isinstance(prev_parts, dict)
    changed = [p for p in PARTS if prev_parts.get(p) != key.parts.get(p)]
    details: list[JSONValue] = []
    if "params" in changed:
        old = prev.runtime.get("cache_params")
        old_params: dict[str, Any] = old if isinstance(old, dict) else {}
        for k in sorted(set(old_params) | set(key.params)):
            if old_params.get(k, "<unset>") != _short(key.params.get(k, "<unset>")):
                details.append(f"{k}: {old_params.get(k, '<unset>')!r} -> {key.params.get(k, '<unset>')!r}")
    if "inputs" in changed:
        old_in = prev.runtime.get("cache_inputs")
        old_inputs: dict[str, Any] = old_in if isinstance(old_in, dict) else {}
        for k in sorted(set(old_inputs) | set(key.inputs)):
            if old_inputs.get(k) != key.inputs.get(k):
                details.append(
                    f"input {k}: content changed "
                    f"({str(old_inputs.get(k))[:19]} -> {key.inputs.get(k, '')[:19]})"
                )
    if not changed:
        reason = f"key equals task {prev.id}'s, but its outputs are gone (artifacts deleted)"
    else:
        reason = f"{', '.join(changed)} changed since task {prev.id}"
    return {
        "result": "miss",
        "reason": reason,
        "compared_to": prev.id,
        "changed": list(changed),
        "details": details,
    }
