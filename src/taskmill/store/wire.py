"""The JSON form of store records, as the HTTP API sends them (shared by server and HTTP store).

One encoder, :func:`to_wire`, turns any store record into JSON-able dicts (tuples become lists;
tasks use :meth:`TaskRecord.to_dict`, whose task type is the key ``type``). Decoders rebuild the
records; unknown keys are ignored so that a newer server can add fields without breaking older
clients. Nothing here does I/O.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

from taskmill.core.model import (
    ArtifactRecord,
    ConfigObject,
    EventRecord,
    LogLine,
    ModelRecord,
    Param,
    PlotRecord,
    ProjectRecord,
    QueueEntry,
    QueueRecord,
    ScalarPoint,
    ScriptInfo,
    TaskRecord,
    WorkerRecord,
)
from taskmill.core.states import TaskStatus, TaskTypes
from taskmill.store.base import ApiKeyRecord, TaskFilter

R = TypeVar("R")

Wire = dict[str, Any]


def to_wire(record: object) -> Wire:
    """The JSON form of a store record (any dataclass of :mod:`taskmill.core.model`)."""
    if isinstance(record, TaskRecord | ArtifactRecord | WorkerRecord | EventRecord):
        return record.to_dict()
    if isinstance(record, TaskFilter):
        return filter_to_wire(record)
    if not dataclasses.is_dataclass(record) or isinstance(record, type):
        raise TypeError(f"not a store record: {type(record).__qualname__}")
    out = {f.name: _plain(getattr(record, f.name)) for f in dataclasses.fields(record)}
    if isinstance(record, ProjectRecord):
        out["hidden"] = record.hidden
    return out


def _plain(value: object) -> object:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def _build(cls: type[R], data: Mapping[str, Any]) -> R:
    """``cls`` from a wire dict: known fields only, lists back to tuples where the field is one."""
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name in data:
            value = data[f.name]
            kwargs[f.name] = tuple(value) if isinstance(f.default, tuple) and value is not None else value
    return cls(**kwargs)


def task_from_wire(data: Mapping[str, Any]) -> TaskRecord:
    """Inverse of :meth:`TaskRecord.to_dict`."""
    fields = {k: v for k, v in data.items() if k not in ("type", "status", "script")}
    if "type" in data:
        fields["task_type"] = TaskTypes(data["type"])
    if "status" in data:
        fields["status"] = TaskStatus(data["status"])
    if "script" in data:
        fields["script"] = ScriptInfo.from_dict(data["script"])
    return _build(TaskRecord, fields)


def param_from_wire(data: Mapping[str, Any]) -> Param:
    """A :class:`Param`."""
    return _build(Param, data)


def config_from_wire(data: Mapping[str, Any]) -> ConfigObject:
    """A :class:`ConfigObject`."""
    return _build(ConfigObject, data)


def artifact_from_wire(data: Mapping[str, Any]) -> ArtifactRecord:
    """An :class:`ArtifactRecord`."""
    return _build(ArtifactRecord, data)


def model_from_wire(data: Mapping[str, Any]) -> ModelRecord:
    """A :class:`ModelRecord`."""
    return _build(ModelRecord, data)


def scalar_from_wire(data: Mapping[str, Any]) -> ScalarPoint:
    """A :class:`ScalarPoint` (the value always a float)."""
    point = _build(ScalarPoint, data)
    return dataclasses.replace(point, value=float(point.value))


def plot_from_wire(data: Mapping[str, Any]) -> PlotRecord:
    """A :class:`PlotRecord`."""
    return _build(PlotRecord, data)


def log_from_wire(data: Mapping[str, Any]) -> LogLine:
    """A :class:`LogLine`."""
    return _build(LogLine, data)


def queue_from_wire(data: Mapping[str, Any]) -> QueueRecord:
    """A :class:`QueueRecord`."""
    return _build(QueueRecord, data)


def entry_from_wire(data: Mapping[str, Any]) -> QueueEntry:
    """A :class:`QueueEntry`."""
    return _build(QueueEntry, data)


def project_from_wire(data: Mapping[str, Any]) -> ProjectRecord:
    """A :class:`ProjectRecord` (``hidden`` is derived, not read)."""
    return _build(ProjectRecord, data)


def worker_from_wire(data: Mapping[str, Any]) -> WorkerRecord:
    """A :class:`WorkerRecord`."""
    return _build(WorkerRecord, data)


def event_from_wire(data: Mapping[str, Any]) -> EventRecord:
    """An :class:`EventRecord`."""
    return _build(EventRecord, data)


def api_key_from_wire(data: Mapping[str, Any]) -> ApiKeyRecord:
    """An :class:`ApiKeyRecord`."""
    return _build(ApiKeyRecord, data)


def filter_to_wire(flt: TaskFilter) -> Wire:
    """The JSON form of a :class:`TaskFilter` (statuses and types as their values)."""
    out: Wire = {f.name: _plain(getattr(flt, f.name)) for f in dataclasses.fields(flt)}
    out["status"] = [s.value for s in flt.status]
    out["task_type"] = [t.value for t in flt.task_type]
    return out


def filter_from_wire(data: Mapping[str, Any]) -> TaskFilter:
    """Inverse of :func:`filter_to_wire`; raises ValueError for an unknown status or type."""
    flt = _build(TaskFilter, {k: v for k, v in data.items() if k not in ("status", "task_type")})
    return dataclasses.replace(
        flt,
        status=tuple(TaskStatus.parse(s) for s in data.get("status") or ()),
        task_type=tuple(TaskTypes(t) for t in data.get("task_type") or ()),
    )
