"""What each kind of trigger watches and when it matches: datasets, models, tasks.

Every trigger finds, among the tasks changed since its watermark (:func:`changed_since`), the
objects that match it *now*, each with a key (the object's id) that the trigger scheduler fires
at most once. See :mod:`taskmill.automation.trigger` for the whole picture.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from taskmill.api.model import Model
from taskmill.api.task import Task
from taskmill.automation.service import Target
from taskmill.core.model import TaskRecord
from taskmill.core.states import SUCCEEDED_STATUSES, TaskStatus
from taskmill.store.base import TaskFilter, TaskStore

_PAGE = 200


@dataclass
class Match:
    """An object that matches a trigger now."""

    key: str
    object_id: str
    what: str


def changed_since(store: TaskStore, flt: TaskFilter, watermark: float) -> list[TaskRecord]:
    """Tasks matching ``flt`` with ``last_update`` after ``watermark``, newest first."""
    limit = _PAGE
    while True:
        rows = store.find_tasks(replace(flt, order="-last_update", limit=limit))
        if len(rows) < limit or rows[-1].last_update <= watermark:
            return [r for r in rows if r.last_update > watermark]
        limit *= 4


@dataclass(eq=False)
class BaseTrigger(Target):
    """What every trigger has: where to look, which names and tags match, what to launch."""

    project: str | None = None
    match_name: str | None = None
    tags: list[str] = field(default_factory=list)
    required_tags: list[str] = field(default_factory=list)
    add_tag: str | None = None
    on_publish: bool | None = None
    on_archive: bool | None = None

    kind: ClassVar[str] = ""
    placeholder: ClassVar[str] = ""

    def verify(self) -> None:
        """ValueError for an invalid trigger (tags must be lists of strings, the name a regexp)."""
        super().verify()
        for label, value in (("trigger_on_tags", self.tags), ("trigger_required_tags", self.required_tags)):
            if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
                raise ValueError(f"{label} must be a list of strings: {value!r}")
        if self.match_name:
            try:
                re.compile(self.match_name)
            except re.error as exc:
                raise ValueError(
                    f"trigger_name '{self.match_name}' is not a valid regular expression: {exc}"
                ) from None

    def _name_ok(self, name: str) -> bool:
        return not self.match_name or re.search(self.match_name, name) is not None

    def _all_tags(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys([*self.tags, *self.required_tags]))

    def baseline(self, store: TaskStore) -> list[str]:
        """Keys of the objects that match when the trigger is first added (remembered, never fired)."""
        return []

    def find(self, store: TaskStore, watermark: float, since: float) -> tuple[list[Match], float]:
        """Objects matching now among those changed after ``watermark``, and the newest change seen."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """JSON-able description."""
        out = super().to_dict()
        out.update(
            kind=self.kind,
            project=self.project or "",
            match_name=self.match_name or "",
            tags=list(self.tags),
            required_tags=list(self.required_tags),
            add_tag=self.add_tag or "",
            on_publish=bool(self.on_publish),
            on_archive=bool(self.on_archive),
        )
        return out


@dataclass(eq=False)
class DatasetTrigger(BaseTrigger):
    """New dataset versions (or versions tagged, published, archived) in a project."""

    kind: ClassVar[str] = "dataset"
    placeholder: ClassVar[str] = "${dataset.id}"

    def find(self, store: TaskStore, watermark: float, since: float) -> tuple[list[Match], float]:
        """Dataset versions that are final and match; the version id is the key."""
        system = ("dataset", "archived") if self.on_archive else ("dataset",)
        status = (TaskStatus.published,) if self.on_publish else tuple(SUCCEEDED_STATUSES)
        where = f"{self.project}/.datasets" if self.project else None
        flt = TaskFilter(project=where, include_subprojects=True, system_tags=system, status=status)
        rows = changed_since(store, flt, watermark)
        out = []
        for record in rows:
            if not self._name_ok(record.name) or not all(t in record.tags for t in self._all_tags()):
                continue
            # a version made final before the trigger existed is not an event (unless tags/archive
            # are what the trigger waits for: those come later by nature)
            when = record.completed if not (self.on_publish or self.on_archive or self.tags) else None
            if when is not None and when <= since:
                continue
            out.append(
                Match(record.id, record.id, f"dataset '{record.name}' {record.runtime.get('version', '')}")
            )
        return out, max((r.last_update for r in rows), default=watermark)


@dataclass(eq=False)
class ModelTrigger(BaseTrigger):
    """Models published or tagged (in a project: the project of the task that made them)."""

    kind: ClassVar[str] = "model"
    placeholder: ClassVar[str] = "${model.id}"

    def _models(self) -> list[Model]:
        found = Model.query_models(
            project_name=self.project, tags=list(self._all_tags()), only_published=bool(self.on_publish)
        )
        out = []
        for model in found:
            if not self._name_ok(model.name):
                continue
            if self.on_archive and "archived" not in (getattr(model, "system_tags", None) or []):
                continue
            out.append(model)
        return out

    def baseline(self, store: TaskStore) -> list[str]:
        """The models matching now."""
        return [m.id for m in self._models()]

    def find(self, store: TaskStore, watermark: float, since: float) -> tuple[list[Match], float]:
        """Matching models whose task changed after the watermark; the model id is the key."""
        rows = changed_since(store, TaskFilter(project=self.project), watermark)
        if not rows:
            return [], watermark
        touched = {r.id for r in rows}
        out = [Match(m.id, m.id, f"model '{m.name}'") for m in self._models() if m.task in touched]
        return out, max(r.last_update for r in rows)


@dataclass(eq=False)
class TaskTrigger(BaseTrigger):
    """Tasks reaching a status, getting tags, or a scalar crossing a threshold."""

    metrics: str | None = None
    variant: str | None = None
    threshold: float | None = None
    value_sign: str | None = None
    exclude_dev: bool | None = None
    on_status: list[str] | None = None
    ignore_ids: tuple[str, ...] = ()

    kind: ClassVar[str] = "task"
    placeholder: ClassVar[str] = "${task.id}"

    def verify(self) -> None:
        """ValueError for a partial metric condition, an unknown status or sign."""
        super().verify()
        given = (self.metrics, self.variant, self.threshold)
        if any(v is not None for v in given) and not all(v is not None for v in given):
            raise ValueError(
                "a metric trigger needs trigger_on_metric, trigger_on_variant and trigger_on_threshold"
            )
        for status in self.on_status or []:
            TaskStatus.parse(status)  # raises ValueError naming the valid ones
        if self.value_sign and self.value_sign.lower() not in ("min", "minimum", "max", "maximum"):
            raise ValueError(f"trigger_on_sign must be min/minimum or max/maximum, not {self.value_sign!r}")

    def _metric_ok(self, task_id: str) -> bool:
        if self.metrics is None or self.variant is None or self.threshold is None:
            return True
        entry = (
            Task.get_task(task_id=task_id).get_last_scalar_metrics().get(self.metrics, {}).get(self.variant)
        )
        if not entry:
            return False
        if (self.value_sign or "min").lower().startswith("max"):
            return entry["max"] >= float(self.threshold)
        return entry["min"] <= float(self.threshold)

    def find(self, store: TaskStore, watermark: float, since: float) -> tuple[list[Match], float]:
        """Matching tasks; the task id is the key."""
        statuses = tuple(TaskStatus.parse(s) for s in self.on_status or ())
        rows = changed_since(
            store, TaskFilter(project=self.project, tags=self._all_tags(), status=statuses), watermark
        )
        out = []
        for record in rows:
            launched = record.runtime.get("_automation/launched_by")
            if record.id in self.ignore_ids:
                continue
            if isinstance(launched, dict) and launched.get("service") in self.ignore_ids:
                if launched.get("job") == self.name:  # what this trigger launched
                    continue
            if self.exclude_dev and record.worker in ("", "local"):
                continue
            if not self._name_ok(record.name):
                continue
            if statuses and _status_time(record) <= since:
                continue
            if not self._metric_ok(record.id):
                continue
            out.append(Match(record.id, record.id, f"task '{record.name}' ({record.status.value})"))
        return out, max((r.last_update for r in rows), default=watermark)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able description."""
        out = super().to_dict()
        out.update(
            metrics=self.metrics or "",
            variant=self.variant or "",
            threshold=self.threshold,
            value_sign=self.value_sign or "",
            exclude_dev=bool(self.exclude_dev),
            on_status=list(self.on_status or []),
        )
        return out


def _status_time(record: TaskRecord) -> float:
    """When ``record`` entered its current status (as well as the record tells)."""
    if record.status.is_final and record.completed:
        return record.completed
    if record.status == TaskStatus.in_progress and record.started:
        return record.started
    return record.last_update
